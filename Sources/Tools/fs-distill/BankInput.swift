import Foundation
import NN
import Store
import ToolSupport
import Train

/// A trajectory bank given with `--bank`: its record, what its config says about the grid it was rolled
/// out on, and the checks that it fits the run (K, schedule, shift).
///
/// The bank config is fs-rollout's `BankManifest` (read in any version). K always follows from the row size,
/// (K+1) states of `state_shape` (default [1, 28, 28], banks made before geometry was recorded).
struct BankInput {
    let record: ArtifactRecord
    let segments: Int
    let sigmas: [Float]?
    let schedule: ScheduleKind?
    let shift: Float?
    let substeps: Int?
    let guidance: (lo: Float, hi: Float)?
    /// The content hash of the teacher that rolled the bank out, when recorded.
    let teacherHash: String?
    let ref: String
    /// [C, H, W] of one state.
    let stateShape: [Int]

    static func load(_ store: ArtifactStore, ref: String) throws -> BankInput {
        let a: ArtifactRecord
        do { a = try store.resolve(ref) } catch StoreError.unknownRef(_, let near) {
            throw ToolError.badInput("\(store.path): unknown bank reference '\(ref)' (expected the bank's name, a tag or a hash prefix)"
                                     + (near.isEmpty ? "" : "; nearest: \(near.joined(separator: ", "))"))
        }
        guard a.kind == ArtifactKind.trajectoryBank else {
            throw ToolError.badInput("\(store.path): '\(ref)' is a \(a.kind) artifact ('\(a.name)'), not a trajectory bank (make one with fs-rollout)")
        }
        guard a.state == "complete" else {
            throw ToolError.badInput("\(store.path): trajectory bank '\(a.name)' is still open (an unfinished fs-rollout? finish it with fs-rollout --resume)")
        }
        let meta = (try? OrderedJSON.parse(a.metadata)) ?? .object([])
        let m: BankManifest
        do { m = try BankManifest(reading: (try? OrderedJSON.parse(a.config)) ?? .object([])) } catch let e as ManifestError {
            throw ToolError.badInput("\(store.path): bank '\(a.name)': \(e.description)")
        }
        let shape = m.stateShape, f = shape.reduce(1, *)
        guard shape.count == 3, f > 0, let rowFloats = meta["row_floats"]?.intValue, rowFloats % f == 0, rowFloats / f >= 2 else {
            throw ToolError.badInput("\(store.path): bank '\(a.name)' rows are not (K+1) states of \(shape) (metadata \(a.metadata))")
        }
        let k = rowFloats / f - 1
        if let n = m.segments, n != k {
            throw ToolError.badInput("\(store.path): bank '\(a.name)' config says K = \(n) but its rows hold \(k + 1) states")
        }
        return BankInput(record: a, segments: k, sigmas: m.boundarySigmas, schedule: m.schedule, shift: m.shift,
                         substeps: m.substeps, guidance: m.cfgRange, teacherHash: m.teacherHash, ref: ref, stateShape: shape)
    }

    /// Fills bank-dependent defaults into `config` (K, sub-steps, CFG range unless given) and refuses a
    /// bank rolled out on another grid than the run's segments.
    func check(against config: inout DistillConfig, teacherHash: String, explicitRange: Bool, explicitSegments: Bool,
               explicitSubsteps: Bool) throws {
        let name = "bank '\(record.name)'"
        if let h = self.teacherHash, h != teacherHash {
            throw ToolError.badInput("\(name) was rolled out by teacher \(h.prefix(12)), not by --teacher (\(teacherHash.prefix(12)))")
        }
        if !explicitSegments { config.segments = segments }
        if !explicitSubsteps, let substeps { config.substeps = substeps }
        if !explicitRange, let guidance { (config.cfgLow, config.cfgHigh) = guidance }
        // ReFlow reads only the noise and the final state; its --segments/--schedule are the inference grid.
        guard config.method != .reflow else { return }
        if segments != config.segments {
            throw ToolError.badInput("\(name) holds K = \(segments) segments per trajectory but --segments is \(config.segments); "
                                     + "roll out a bank with --segments \(config.segments) or drop --segments")
        }
        if let schedule, schedule != config.schedule {
            throw ToolError.badInput("\(name) was rolled out on the \(schedule.rawValue) grid but --schedule is \(config.schedule.rawValue)")
        }
        if let shift, abs(shift - config.shift) > 1e-6 {
            throw ToolError.badInput("\(name) was rolled out with shift \(shift) but --shift is \(config.shift)")
        }
        let grid = SigmaSchedule.make(config.schedule, steps: config.segments, shift: config.shift).sigmas
        if let sigmas, sigmas.count != grid.count || zip(sigmas, grid).contains(where: { abs($0 - $1) > 1e-5 }) {
            throw ToolError.badInput("\(name) boundaries \(sigmas) differ from the \(config.schedule.rawValue) grid \(grid)")
        }
    }

    /// The bank's rows as an in-memory trajectory set.
    func trajectories(_ store: ArtifactStore) throws -> TrajectorySet {
        let b = try store.readBank(record)
        guard b.count > 0 else { throw ToolError.badInput("\(store.path): trajectory bank '\(record.name)' has no rows") }
        return TrajectorySet(segments: segments, labels: b.labels, guidance: b.guidance, states: b.states, sampleShape: stateShape)
    }
}
