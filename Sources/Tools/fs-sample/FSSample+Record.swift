import Foundation
import Store
import TensorCore
import ToolSupport
import Train

/// What a sample set records about itself: its grid's name, its metadata and its default name; and
/// --print-schedule, which prints the grid alone.
extension FSSample {
    func printScheduleOnly() throws {
        let sched = try SampleGeneration.schedule(for: nil, steps: steps, kind: schedule, shift: shift, sigmas: sigmas)
        if common.json {
            try JSONOutput.print(["sigmas": sched.sigmas, "timesteps": sched.timesteps])
        } else {
            print("step  sigma       timestep")
            for (i, s) in sched.sigmas.enumerated() {
                let t = i < sched.steps ? String(format: "%.4f", sched.timesteps[i]) : "-"
                print(String(format: "%4d  %-10.6f  %@", i, s, t))
            }
        }
    }

    /// Which grid was used, mirroring `SampleGeneration.schedule`: an explicit list, the student's own
    /// recorded grid ("checkpoint"), or a named schedule.
    func scheduleName(_ m: LoadedModel) -> String {
        if sigmas != nil { return "explicit" }
        if let schedule { return schedule.rawValue }
        if steps == nil, shift == nil, m.segmentSigmas != nil { return "checkpoint" }
        return (m.schedule ?? .fixed).rawValue
    }

    /// The sample set's metadata: everything needed to reproduce it (no timings, so re-running the same
    /// command finds the same artifact instead of a conflict).
    func metadataJSON(_ m: LoadedModel, _ s: SigmaSchedule, _ plan: SamplingPlan,
                      _ window: StartOptions.Resolved) throws -> String {
        var meta: [String: Any] = [
            "steps": plan.steps, "schedule": scheduleName(m), "shift": s.shift, "cfg": plan.guidance,
            "sigmas": plan.sigmas, "method": plan.method.rawValue, "seeds": seeds.description,
            "labels": labels.description, "count": seeds.count, "checkpoint": m.displayName,
            "checkpoint_hash": m.contentHash, "model_kind": m.kind.rawValue,
            "labels_dtype": "I64", "seeds_dtype": "U64",
        ]
        if case .file(let path) = m.source { meta["checkpoint_file"] = path }
        // Only runs that use the options record them, so plain sample sets keep their old metadata.
        if !start.isDefault { meta.merge(window.record) { a, _ in a } }
        return try JSONOutput.string(meta)
    }

    /// "samples/<checkpoint>/<schedule><steps>-shift<s><start tag>-cfg<w>-<method>/seeds<list>[-labels<list>]";
    /// long lists are replaced by a 12-digit hash. The start tag (`StartOptions.Resolved.nameTag`) tells
    /// partial runs apart: window ends, and the start file's hash or the MNIST split.
    func defaultName(_ m: LoadedModel, _ s: SigmaSchedule, _ plan: SamplingPlan, _ window: StartOptions.Resolved) -> String {
        func short(_ text: String, _ max: Int = 48) -> String {
            text.count <= max ? text : String(SHA256.hex(text).prefix(12))
        }
        let grid = (sigmas != nil ? "sigmas\(short(SampleGeneration.jsonList(s.sigmas), 0))"
            : "\(scheduleName(m))\(s.steps)-shift\(s.shift)") + window.nameTag
        var n = "samples/\(m.displayName)/\(grid)-cfg\(plan.guidance)-\(plan.method.rawValue)/seeds\(short(seeds.description))"
        if labels != .cycle { n += "-labels\(short(labels.description))" }
        return n
    }
}
