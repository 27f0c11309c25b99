import Foundation
import ImageIO
import NN
import Store
import TensorCore
import ToolSupport
import Train

/// The outputs of a sampling run: files, the sample_set artifact, and the summary on stdout.
extension FSSample {
    /// One sampling run's inputs and result.
    struct Run {
        let loaded: LoadedModel
        let schedule: SigmaSchedule
        let plan: SamplingPlan
        let window: StartOptions.Resolved
        let result: GeneratedSamples
        let seconds: Double
    }

    /// --save-tensors, --png and --trajectory-png.
    func writeFiles(_ r: Run) throws {
        if let saveTensors {
            var extra: [(key: String, value: String)] = [("checkpoint", r.loaded.displayName),
                                                         ("checkpoint_hash", r.loaded.contentHash)]
            if !start.isDefault { extra += r.window.record.sorted { $0.key < $1.key }.map { ($0.key, "\($0.value)") } }
            try Safetensors.write(r.result.tensorsFile(plan: r.plan, extra: extra), to: saveTensors)
        }
        if let png {
            try PNG.write(sampleGrid(r.result.samples, labels: r.result.labels, byClass: labels == .cycle,
                                     limit: gridLimit, scale: pngScale), to: png)
        }
        if let trajectoryPng {
            try PNG.write(trajectoryStrip(r.result.trajectory).upscaled(by: pngScale), to: trajectoryPng)
        }
    }

    /// Stores the sample_set artifact, in `store` (the one a store checkpoint was read from) or the one
    /// the user named; a file checkpoint without a named store stores nothing.
    func storeSampleSet(_ r: Run, store: ArtifactStore?) throws -> (artifact: ArtifactRecord, store: ArtifactStore)? {
        if noStoreArtifact { return nil }
        if store == nil && !common.storeNamed {
            common.log("fs-sample: no sample_set stored (a file checkpoint and no --store or $FS_STORE; give one to keep the samples)")
            return nil
        }
        let s = try store ?? common.openStore()
        let a = try s.putArtifact(kind: ArtifactKind.sampleSet, name: name ?? defaultName(r.loaded, r.schedule, r.plan, r.window),
                                  tensors: r.result.sampleSetEntries,
                                  metadata: metadataJSON(r.loaded, r.schedule, r.plan, r.window),
                                  parents: r.loaded.artifact.map { [$0.id] } ?? [])
        return (a, s)
    }

    /// The summary: one JSON object with --json, else one line.
    func report(_ r: Run, stored: (artifact: ArtifactRecord, store: ArtifactStore)?) throws {
        let plan = r.plan, rate = Double(seeds.count) / max(r.seconds, 1e-9)
        var out: [String: Any] = [
            "checkpoint": r.loaded.displayName, "checkpoint_hash": r.loaded.contentHash, "count": seeds.count,
            "steps": plan.steps, "schedule": scheduleName(r.loaded), "shift": r.schedule.shift, "sigmas": plan.sigmas,
            "cfg": plan.guidance, "method": method.rawValue, "seconds": r.seconds, "images_per_second": rate,
            "evaluations_per_sample": plan.evaluationsPerSample, "batch_size": batchSize,
            "threads": ComputeThreads.count,
        ]
        if !start.isDefault { out.merge(r.window.record) { a, _ in a } }
        if let png { out["png"] = png }
        if let trajectoryPng { out["trajectory_png"] = trajectoryPng }
        if let saveTensors { out["tensors"] = saveTensors }
        if let stored {
            out["artifact"] = stored.artifact.name
            out["artifact_hash"] = stored.artifact.hash
            out["store"] = stored.store.path
        }
        let note = stored.map { " -> sample_set '\($0.artifact.name)' (\($0.artifact.shortHash))" } ?? ""
        try common.emit(out, human: String(format: "sampled %d images in %.2f s (%.1f images/s)", seeds.count, r.seconds, rate)
                                    + note)
    }
}
