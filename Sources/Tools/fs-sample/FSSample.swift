import ArgumentParser
import Datasets
import Foundation
import Store
import TensorCore
import ToolSupport
import Train

/// fs-sample: options and the sampling run here; its outputs (files, sample set, summary) in
/// FSSample+Outputs, the sample set's record and --print-schedule in FSSample+Record, the help in FSSample+Help.
@main
struct FSSample: ParsableCommand {
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
        let loaded = try LoadedModel.load(checkpoint!, store: existingStore)
        let keep = trajectoryPng == nil ? 0 : trajectorySamples, floats = loaded.geometry.sampleShape.reduce(1, *)
        try MemoryBudget.check("--seeds (sample count)", value: seeds.count) {
            MemoryEstimates.sampling(samples: $0, trajectoryStates: min(keep, $0) * ((steps ?? 32) + 1), sampleFloats: floats)
        }
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
        progress.finish()
        let run = Run(loaded: loaded, schedule: sched, plan: plan, window: window, result: result, seconds: seconds)
        try writeFiles(run)
        try report(run, stored: try storeSampleSet(run, store: store))
    }
}
