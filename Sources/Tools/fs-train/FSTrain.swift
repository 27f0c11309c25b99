import ArgumentParser
import Datasets
import Foundation
import NN
import Store
import TensorCore
import ToolSupport
import Train

@main
struct FSTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fs-train",
        abstract: "Train the class-conditional flow-matching teacher (UNet or DiT) on an image dataset (default MNIST).",
        discussion: """
        Checkpoints (weights, EMA, AdamW moments, step) go into the artifact store every
        --checkpoint-every steps and at the end; --resume continues a killed run and ends
        bit-identical to an uninterrupted one with the same seed (at any --threads, and
        under mpirun/srun with any number of ranks: docs/operations.md, data-parallel training).
        Presets: \(TeacherTrainingConfig.presetNames.joined(separator: ", ")).
        --data takes \(DatasetSpec.help); the model's input channels and
        class count follow the data, and the run records the dataset's SHA-256 (a resumed
        run re-reads it and refuses different images).
        SIGINT/SIGTERM stop at the next step with a checkpoint, the run marked
        interrupted (exit 130/143). --resume refuses --lr, --batch-size or --seed
        values that differ from the recorded ones unless --override-config.
        MNIST and Fashion-MNIST are read from $FS_DATA_DIR (holding mnist/ or
        fashion-mnist/), else from data/<name> above the current directory or the
        executable, else (Fashion-MNIST) Debian's /usr/share/datasets.

        Examples:
          fs-train --store runs.db --run teacher --preset mnist --steps 4000 \\
                   --checkpoint-every 250 --seed 0
          fs-train --store runs.db --run teacher --steps 4000 --resume
          fs-train --store runs.db --run fashion --data fashion-mnist --steps 4000
        """)

    @OptionGroup var common: CommonOptions
    @Option(name: .customLong("run"), help: "Run name (checkpoints are RUN@STEP).") var runName: String
    @Option(help: "Backbone: unet or dit (default unet; the preset sizes it).") var model: String?
    @Option(help: "Preset (tiny, mnist, dit-tiny, dit-mnist; default mnist).") var preset: String?
    @OptionGroup var data: DataOptions
    @Option(help: "Train until this step.") var steps: Int
    @Option(help: "Checkpoint every K steps (and at the end).") var checkpointEvery: Int = 250
    @Option(help: "Seed for initialisation, data order and every per-sample draw (default 0).") var seed: UInt64?
    @Flag(help: "Continue run RUN from its latest checkpoint (settings given with it must match the recorded ones).")
    var resume = false
    @Flag(help: "With --resume: apply --lr/--batch-size/--seed values that differ from the recorded ones, and record the change in the run.")
    var overrideConfig = false
    @Option(help: "Override the preset's learning rate.") var lr: Float?
    @Option(help: "Override the preset's batch size.") var batchSize: Int?
    @Option(help: "Fixed gradient chunks per batch (the unit of MPI ranks; preset 4).") var gradientChunks: Int?
    @Option(help: "UNet: override the preset's channels, e.g. 16,32,32.") var channels: String?
    @Option(help: "UNet: override the time/class embedding width (reference 128).") var embedDim: Int?
    @Option(help: "DiT: override the preset's number of blocks.") var depth: Int?
    @Option(help: "DiT: override the preset's token width.") var hiddenSize: Int?
    @Option(help: "DiT: override the preset's patch size (it must divide the image size).") var patchSize: Int?
    @Option(help: "DiT: override the preset's attention heads.") var numHeads: Int?
    @Option(help: "Guidance weight recorded in the checkpoints as recommended_cfg (fs-sample's default --cfg; kept on --resume).")
    var recommendedCfg: Float?

    static func main() { runAsTool() }

    func validate() throws {
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1, got \(steps)") }
        guard checkpointEvery >= 1 else { throw ValidationError("--checkpoint-every must be at least 1, got \(checkpointEvery)") }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        if let embedDim, embedDim < 1 { throw ValidationError("--embed-dim must be at least 1, got \(embedDim)") }
        // Checked here, before the store is opened, so a usage error never creates one.
        if let channels { try OptionCheck.inValidate { _ = try parseChannels(channels) } }
        if let model, !ModelConfig.kinds.contains(model) {
            throw ValidationError("--model '\(model)': expected one of \(ModelConfig.kinds.joined(separator: ", "))")
        }
        if let preset, !TeacherTrainingConfig.presetNames.contains(presetName(preset)) {
            throw ValidationError("unknown preset '\(preset)' (known: \(TeacherTrainingConfig.presetNames.joined(separator: ", ")))")
        }
        for (flag, v) in [("--depth", depth), ("--hidden-size", hiddenSize), ("--patch-size", patchSize), ("--num-heads", numHeads)] {
            if let v, v < 1 { throw ValidationError("\(flag) must be at least 1, got \(v)") }
        }
        try OptionCheck.float("--lr", lr, .positive)
        try OptionCheck.float("--recommended-cfg", recommendedCfg)
    }

    mutating func run() throws { try DataParallelTool.run("fs-train") { try train($0) } }

    func train(_ dp: DataParallelTool) throws {
        common.applyThreads()
        let store = try dp.openStore(path: common.storePath) { try common.openStore() }
        var config: TeacherTrainingConfig
        var state: TrainingState?
        var guidance = recommendedCfg
        var images: ImageDataset?
        let existing = try store.artifacts(kind: ArtifactKind.checkpoint, run: runName)
        var overrides: [ResumeConfig.Change] = []
        if resume, let last = existing.max(by: { ($0.step ?? 0) < ($1.step ?? 0) }) {
            (config, state) = try loadCheckpoint(store, last)
            if guidance == nil { guidance = recordedGuidance(last) }
            var wanted = config
            if let preset { wanted.preset = presetName(preset) }
            if let seed { wanted.seed = seed }
            if let lr { wanted.learningRate = lr }
            if let batchSize { wanted.batchSize = batchSize }
            if let model, model != config.model.kind {
                throw ToolError(.usage, "--model \(model): run '\(runName)' trains a \(config.model.kind) (the backbone cannot change)")
            }
            wanted.model = try applyModelOptions(config.model)
            let flags = ["preset": "--preset", "seed": "--seed", "learning_rate": "--lr", "batch_size": "--batch-size",
                         "model": "--channels/--embed-dim/--depth/--hidden-size/--patch-size/--num-heads"]
            overrides = try ResumeConfig.enforce(try ResumeConfig.changes(recorded: config.json, wanted: wanted.json, flags: flags),
                                                 run: runName, override: overrideConfig, fixed: ["model", "preset"])
            if !overrides.isEmpty {
                config = wanted
                common.log("overriding the recorded config of \(runName) from step \(state!.step): "
                           + overrides.map(\.description).joined(separator: "; "))
            }
            common.log("resuming \(runName) from step \(state!.step)")
        } else {
            if !existing.isEmpty {
                throw ToolError(.usage, "run '\(runName)' already has checkpoints; pass --resume to continue it or choose another --run")
            }
            if overrideConfig { throw ToolError.usage("--override-config only applies to --resume of a run with checkpoints") }
            let name = presetName(preset ?? "mnist")
            guard var c = TeacherTrainingConfig.preset(name, seed: seed ?? 0) else {
                throw ToolError(.usage, "unknown preset '\(name)' (known: \(TeacherTrainingConfig.presetNames.joined(separator: ", ")))")
            }
            if let model, model != c.model.kind {
                throw ToolError(.usage, "--model \(model) with preset '\(name)', a \(c.model.kind) preset")
            }
            if let lr { c.learningRate = lr }
            if let batchSize { c.batchSize = batchSize }
            if let gradientChunks { c.gradientChunks = gradientChunks }
            c.model = try applyModelOptions(c.model)
            if case .dit(var d) = c.model { d.classDropoutProb = Double(c.labelDropout); c.model = .dit(d) }
            images = try data.load(defaultSplit: .train)
            try c.adapt(to: images!)
            config = c
        }
        // Refuse a batch that cannot fit before anything is loaded or the run is marked running.
        try MemoryBudget.check("--batch-size", value: config.batchSize) {
            MemoryEstimates.training(config.model, batch: $0, imageSize: config.data?.geometry.height ?? 28)
        }
        let trainData = try images ?? data.loadRecorded(config.data, legacySpec: TeacherTrainingConfig.legacyDataSpec)
        common.log("data: \(trainData.summary)")
        let trainer = TeacherTrainer(config: config, data: trainData, communicator: dp.communicator)
        var s = state ?? trainer.initialState()
        try dp.loaded()
        guard s.step < steps else {
            common.log("run \(runName) is already at step \(s.step) >= --steps \(steps); nothing to do")
            try printSummary(store, s, loss: nil, rate: nil)
            return
        }
        if dp.writes {
            try store.beginRun(name: runName, kind: "teacher", config: try ResumeConfig.recording(
                config.json, step: s.step, changes: overrides, previous: try store.run(runName)?.config))
        }
        var loop = TrainLoop<TrainingState>(target: steps, checkpointEvery: checkpointEvery) { s, reference in
            let loss = try trainer.step(&s, lossScale: reference)
            return TrainLoopStep(loss: loss, metrics: [("loss", loss)], detail: String(format: "loss %.4f", loss))
        }
        loop.saveCheckpoint = { try saveCheckpoint(store, config, $0, guidance: guidance) }
        loop.checkpointMetrics = { [("images_per_second", Double($0.steps * config.batchSize) / $0.elapsed)] }
        let outcome = try store.guardingRun(runName) { () throws -> TrainLoopOutcome in
            loop.attach(store: store, run: runName, dp: dp, progress: common.progress(
                "fs-train \(runName)", total: steps, unit: "step", completed: s.step))
            do { return try loop.run(&s) } catch let e as TrainingDiverged { throw ToolError(.diverged, e.description) }
        }
        try outcome.throwIfInterrupted(store: store, run: runName, step: s.step,
                                       resume: "fs-train --store \(store.path) --run \(runName) --steps \(steps) --resume")
        let lastLoss = loop.last?.loss ?? 0
        let rate = Double(loop.timing.steps * config.batchSize) / loop.timing.elapsed
        try printSummary(store, s, loss: lastLoss, rate: rate)
    }

    /// Metadata: the teacher's `CheckpointManifest` (docs/design.md; `train_config` is what --resume continues with).
    func saveCheckpoint(_ store: ArtifactStore, _ config: TeacherTrainingConfig, _ s: TrainingState, guidance: Float?) throws {
        let manifest = CheckpointManifest.teacher(config, step: s.step, optimizerStep: s.optimizer.step, guidance: guidance,
                                                  producer: .init(tool: "fs-train"))
        try store.putCheckpoint(run: runName, step: s.step, model: s.weights, ema: s.ema, optM: s.optimizer.m,
                                optV: s.optimizer.v, metadata: manifest.json.serialized, config: config.json)
    }

    func recordedGuidance(_ a: ArtifactRecord) -> Float? {
        (try? OrderedJSON.parse(a.metadata))?["recommended_cfg"]?.doubleValue.map(Float.init)
    }

    func loadCheckpoint(_ store: ArtifactStore, _ a: ArtifactRecord) throws -> (TeacherTrainingConfig, TrainingState) {
        let meta = (try? OrderedJSON.parse(a.metadata)) ?? .object([])
        guard let m = try? CheckpointManifest(reading: meta), case .teacher(let config)? = m.trainConfig,
              let step = m.step, let adamStep = m.optimizerStep else {
            throw ToolError(.badInput, "checkpoint \(a.name) in \(store.path) is not a fs-train checkpoint (no train_config/step)")
        }
        let opt = AdamW(weightDecay: config.weightDecay, step: adamStep,
                        m: try store.loadStateDict(a, prefix: "opt.m."), v: try store.loadStateDict(a, prefix: "opt.v."))
        let state = TrainingState(step: step, weights: try store.loadStateDict(a, prefix: "model."),
                                  ema: try store.loadStateDict(a, prefix: "ema."), optimizer: opt)
        return (config, state)
    }

    func printSummary(_ store: ArtifactStore, _ s: TrainingState, loss: Float?, rate: Double?) throws {
        var out: [String: Any] = ["run": runName, "step": s.step, "store": store.path,
                                  "checkpoint": "\(runName)@\(s.step)"]
        if let loss { out["final_loss"] = loss }
        if let rate { out["images_per_second"] = rate }
        try common.emit(out, human: "trained \(runName) to step \(s.step)" + (loss.map { String(format: ", loss %.4f", $0) } ?? ""))
    }
}

extension FSTrain {
    /// The preset for --model: `--model dit --preset tiny` is `dit-tiny`.
    func presetName(_ name: String) -> String { TeacherTrainingConfig.presetName(name, model: model ?? "unet") }

    /// The backbone options applied to `config`; an option of the other backbone is a usage error.
    func applyModelOptions(_ config: ModelConfig) throws -> ModelConfig {
        switch config {
        case .unet(var c):
            if depth != nil || hiddenSize != nil || patchSize != nil || numHeads != nil {
                throw ToolError(.usage, "--depth/--hidden-size/--patch-size/--num-heads are DiT options (this run trains a UNet; add --model dit)")
            }
            if let channels { c.channels = try parseChannels(channels) }
            if let embedDim { c.embedDim = embedDim }
            return .unet(c)
        case .dit(var c):
            if channels != nil || embedDim != nil {
                throw ToolError(.usage, "--channels/--embed-dim are UNet options (this run trains a DiT)")
            }
            if let depth { c.depth = depth }
            if let hiddenSize { c.hiddenSize = hiddenSize }
            if let patchSize { c.patchSize = patchSize }
            if let numHeads { c.numHeads = numHeads }
            return .dit(c)   // validated against the images by `adapt`
        }
    }
}

func parseChannels(_ s: String) throws -> [Int] {
    let c = s.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !c.isEmpty, c.allSatisfy({ $0 != nil && $0! > 0 && $0! % 8 == 0 }) else {
        throw ToolError(.usage, "--channels '\(s)': expected positive multiples of 8, e.g. 16,32,32")
    }
    return c.map { $0! }
}
