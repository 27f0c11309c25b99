import ArgumentParser
import Datasets
import Foundation
import ImageIO
import NN
import Store
import TensorCore
import ToolSupport
import Train

@main
struct FSSample: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fs-sample",
        abstract: "Sample images from a checkpoint (Euler or Heun, fixed or diffusers schedule, CFG).",
        discussion: """
        Sample i starts from the noise of seed i (one seed per sample) and gets label i mod 10 by default,
        so its result depends only on its seed, label, the model and the settings, never on --batch-size.
        Defaults come from the checkpoint's metadata: --cfg its recommended_cfg (students record 1),
        --schedule/--shift its schedule and shift (else fixed, 3), --steps a student's segments (else 32).

        Outputs: a PNG grid (--png; one row per class when labels cycle), the intermediate states of the
        first samples (--trajectory-png; rows = samples, columns = time), a safetensors file with noise,
        labels (I64) and samples before clamping (--save-tensors; re-checked in PyTorch by
        tools/golden/check_export.py), and a sample_set artifact in the store (tensors samples F32,
        labels I64, seeds U64; metadata with steps, schedule, shift, cfg, sigmas, method and the
        checkpoint's hash) whose parent is the checkpoint. --print-schedule only prints the sigma grid.

        Partial trajectories (paper Table 1): --stop-sigma S ends the run at
        point S of the grid and outputs the states there. --init-tensors FILE
        starts from such states (at the file's last recorded sigma, or
        --start-sigma); --init-x0 FILE|mnist-test|mnist-train --start-sigma S
        starts from S*eps_i + (1-S)*x0_i, eps_i = sample i's seeded noise.
        Stopping at S and resuming from the saved states reproduces the
        uninterrupted run bit for bit. The sample set records the start (kind,
        sigma, file and its SHA-256, or the MNIST split) and the stop sigma.

        A .safetensors checkpoint with neither --store nor $FS_STORE stores
        nothing (no ./flowsteer.db appears). A NaN or infinite model output
        stops sampling with exit 5 naming the step and sigma, nothing written.
        --init-x0 mnist-* reads MNIST from $FS_DATA_DIR (holding mnist/ or the
        MNIST files), else from data/mnist above the current directory.

        Examples:
          fs-sample --store runs.db --checkpoint teacher --steps 32 \\
                    --seeds 0-99 --png teacher.png
          fs-sample --checkpoint models/student-flowsteer-4.safetensors \\
                    --seeds 0-99 --png grid.png
          fs-sample --checkpoint models/teacher-mnist.safetensors --steps 4 \\
                    --schedule diffusers --cfg 2 --seeds 0-9 \\
                    --trajectory-png path.png --save-tensors s.safetensors
          fs-sample --print-schedule --steps 4 --schedule diffusers --json
          fs-sample --checkpoint T --steps 32 --seeds 0-99 --stop-sigma 0.5 \\
                    --save-tensors s05.safetensors
          fs-sample --checkpoint T --steps 32 --seeds 0-99 \\
                    --init-tensors s05.safetensors
          fs-sample --checkpoint T --steps 32 --seeds 0-99 --start-sigma 0.5 \\
                    --init-x0 mnist-train
        """)

    @OptionGroup var common: CommonOptions
    @Option(help: ArgumentHelp("Model: RUN (latest checkpoint, EMA weights), RUN@STEP, tag, artifact name, hash prefix, or a .safetensors file.",
                               valueName: "ref"))
    var checkpoint: String?
    @Option(help: "Sampling steps (default: a student's segment count, else 32).") var steps: Int?
    @Option(help: ArgumentHelp("Sigma grid (default: the checkpoint's schedule, else fixed).", valueName: "fixed|diffusers"))
    var schedule: ScheduleKind?
    @Option(help: "Schedule shift (default: the checkpoint's, else 3).") var shift: Float?
    @Option(help: ArgumentHelp("Explicit sigma list, e.g. 1,0.9,0.75,0.5 (a trailing 0 is added; stop earlier with --stop-sigma); overrides --steps/--schedule.",
                               valueName: "list"))
    var sigmas: String?
    @Option(help: "Guidance weight w (1 = none; default: the checkpoint's recommended_cfg, else 1).") var cfg: Float?
    @Option(help: ArgumentHelp("Seeds, one per sample (EDM syntax: 0-99 or 1,2,5-10).", valueName: "list"),
            transform: { try SeedList(parsing: $0) })
    var seeds: SeedList = SeedList(Array(0...99))
    @Option(help: ArgumentHelp("Labels: 'cycle' (sample i gets i mod 10) or a comma list repeated over the samples (10 = unconditional).",
                               valueName: "cycle|list"),
            transform: { try LabelSpec(parsing: $0) })
    var labels: LabelSpec = .cycle
    @Option(help: "ODE solver: euler or heun (Heun's last step to 0 is Euler).") var method: Sampler.Method = .euler
    @Option(help: "Samples per batch (changes speed and memory, never the results).") var batchSize: Int = 250
    @Option(help: ArgumentHelp("Write a PNG grid of the samples.", valueName: "file")) var png: String?
    @Option(help: "Samples shown in the PNG grid (the first N).") var gridLimit: Int = 100
    @Option(help: "Enlarge PNGs by this integer factor.") var pngScale: Int = 1
    @Option(help: ArgumentHelp("Write every intermediate state of the first samples (rows = samples, columns = time).",
                               valueName: "file"))
    var trajectoryPng: String?
    @Option(help: "Samples drawn in the trajectory PNG.") var trajectorySamples: Int = 8
    @Option(help: ArgumentHelp("Write noise, labels and samples (model space, before clamping) as safetensors.", valueName: "file"))
    var saveTensors: String?
    @Option(help: "Name of the sample_set artifact (default: derived from checkpoint, settings and seeds).") var name: String?
    @Flag(help: "Do not store a sample_set artifact (a .safetensors checkpoint without --store/$FS_STORE never stores one).")
    var noStoreArtifact = false
    @Flag(help: "Only print the sigma grid and timesteps of --steps/--schedule/--shift (no checkpoint needed).")
    var printSchedule = false
    @OptionGroup(title: "Partial trajectories") var start: StartOptions
    @OptionGroup(title: "Real-image starts") var data: DataOptions

    static func main() { runAsTool() }

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        guard gridLimit >= 1 else { throw ValidationError("--grid-limit must be at least 1, got \(gridLimit)") }
        guard (1...16).contains(pngScale) else { throw ValidationError("--png-scale must be 1...16, got \(pngScale)") }
        guard trajectorySamples >= 1 else { throw ValidationError("--trajectory-samples must be at least 1") }
        try OptionCheck.float("--cfg", cfg)
        try OptionCheck.float("--shift", shift, .positive)
        try OptionCheck.int("--steps", steps, 1...100_000)
        if printSchedule {
            guard steps != nil || sigmas != nil else { throw ValidationError("--print-schedule needs --steps N (or --sigmas)") }
        } else {
            guard checkpoint != nil else { throw ValidationError("missing --checkpoint REF (or use --print-schedule)") }
            guard seeds.count >= 1 else { throw ValidationError("--seeds lists no seed") }
        }
    }

    mutating func run() throws {
        if printSchedule { return try printScheduleOnly() }
        common.applyThreads()
        var store: ArtifactStore?
        func existingStore() throws -> ArtifactStore {
            if let store { return store }
            let s = try common.openExistingStore()
            store = s
            return s
        }
        try OutputPath.check("--png", png)
        try OutputPath.check("--trajectory-png", trajectoryPng)
        try OutputPath.check("--save-tensors", saveTensors)
        let keep = trajectoryPng == nil ? 0 : trajectorySamples
        try MemoryBudget.check("--seeds (sample count)", value: seeds.count) {
            MemoryEstimates.sampling(samples: $0, trajectoryStates: min(keep, $0) * ((steps ?? 32) + 1))
        }
        let loaded = try LoadedModel.load(checkpoint!, store: existingStore)
        let sched = try SampleGeneration.schedule(for: loaded.manifest, steps: steps, kind: schedule, shift: shift, sigmas: sigmas)
        let numClasses = loaded.config.numClasses
        let sampleLabels = labels.labels(count: seeds.count, numClasses: numClasses)
        if let bad = sampleLabels.first(where: { $0 > numClasses }) {
            throw ToolError.usage("--labels: label \(bad) is outside 0...\(numClasses) for this model")
        }
        let sampleShape = loaded.geometry.sampleShape
        let window = try start.resolve(grid: sched.sigmas, seeds: seeds.seeds, labels: sampleLabels, sampleShape: sampleShape,
                                       loadData: { split in
                                           data.spec == nil && loaded.dataset != nil
                                               ? try DatasetSpec(parsing: loaded.dataset!.spec).load(split: split)
                                               : try data.load(defaultSplit: split) })
        let plan = SamplingPlan(sigmas: window.sigmas, guidance: cfg ?? loaded.recommendedCFG, method: method)
        common.log("fs-sample: \(loaded.displayName) (\(loaded.kind.rawValue), \(loaded.contentHash.prefix(12))): "
                   + "\(seeds.count) samples, \(plan.steps) \(method.rawValue) steps (\(scheduleName(loaded))), "
                   + "sigmas \(SampleGeneration.jsonList(plan.sigmas)), cfg \(plan.guidance), "
                   + "\(plan.evaluationsPerSample) network evaluations per sample, \(ComputeThreads.count) threads"
                   + (start.isDefault ? "" : ", start: \(window.record["start"] ?? "-") at sigma \(plan.sigmas[0])"))

        let progress = common.progress("fs-sample", total: seeds.count, unit: "img")
        let t0 = Progress.monotonicSeconds()
        let result = try SampleGeneration.generate(
            loaded.model, seeds: seeds.seeds, labels: sampleLabels, plan: plan, batchSize: batchSize,
            start: window.start, trajectorySamples: trajectoryPng == nil ? 0 : trajectorySamples,
            modelName: "checkpoint \(loaded.displayName)",
            afterGroup: Interruption.checkSampling, onBatch: { progress.update(completed: $0) })
        let seconds = Progress.monotonicSeconds() - t0
        let rate = Double(seeds.count) / max(seconds, 1e-9)
        progress.finish()

        if let saveTensors {
            var extra: [(key: String, value: String)] = [("checkpoint", loaded.displayName),
                                                         ("checkpoint_hash", loaded.contentHash)]
            if !start.isDefault { extra += window.record.sorted { $0.key < $1.key }.map { ($0.key, "\($0.value)") } }
            try Safetensors.write(result.tensorsFile(plan: plan, extra: extra), to: saveTensors)
        }
        if let png {
            try PNG.write(sampleGrid(result.samples, labels: result.labels, byClass: labels == .cycle,
                                     limit: gridLimit, scale: pngScale), to: png)
        }
        if let trajectoryPng {
            try PNG.write(trajectoryStrip(result.trajectory).upscaled(by: pngScale), to: trajectoryPng)
        }

        var artifact: ArtifactRecord?
        if !noStoreArtifact && store == nil && !storeNamed {
            common.log("fs-sample: no sample_set stored (a file checkpoint and no --store or $FS_STORE; give one to keep the samples)")
        } else if !noStoreArtifact {
            let s = try store ?? common.openStore()
            store = s
            artifact = try s.putArtifact(kind: ArtifactKind.sampleSet, name: name ?? defaultName(loaded, sched, plan, window),
                                         tensors: result.sampleSetEntries,
                                         metadata: metadataJSON(loaded, sched, plan, window),
                                         parents: loaded.artifact.map { [$0.id] } ?? [])
        }

        var out: [String: Any] = [
            "checkpoint": loaded.displayName, "checkpoint_hash": loaded.contentHash, "count": seeds.count,
            "steps": plan.steps, "schedule": scheduleName(loaded), "shift": sched.shift, "sigmas": plan.sigmas,
            "cfg": plan.guidance, "method": method.rawValue, "seconds": seconds, "images_per_second": rate,
            "evaluations_per_sample": plan.evaluationsPerSample, "batch_size": batchSize,
            "threads": ComputeThreads.count,
        ]
        if !start.isDefault { out.merge(window.record) { a, _ in a } }
        if let png { out["png"] = png }
        if let trajectoryPng { out["trajectory_png"] = trajectoryPng }
        if let saveTensors { out["tensors"] = saveTensors }
        if let artifact, let store {
            out["artifact"] = artifact.name
            out["artifact_hash"] = artifact.hash
            out["store"] = store.path
        }
        let stored = artifact.map { " -> sample_set '\($0.name)' (\($0.shortHash))" } ?? ""
        try common.emit(out, human: String(format: "sampled %d images in %.2f s (%.1f images/s)", seeds.count, seconds, rate)
                                    + stored)
    }

    /// True when the user named a store (--store or $FS_STORE): only then does sampling a file checkpoint
    /// store its sample set (creating the store), never in a ./flowsteer.db nobody asked for.
    var storeNamed: Bool {
        !(common.store ?? "").isEmpty || !(ProcessInfo.processInfo.environment["FS_STORE"] ?? "").isEmpty
    }

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
