import Datasets
import Store
import ToolSupport
import Train

extension FSTrain {
    /// The run's config and where it starts: on --resume the latest checkpoint's config and state (options
    /// given must repeat the recorded ones, unless --override-config applies them) and its recorded guidance;
    /// else the preset's config with the options, fitted to the --data images (returned, already read).
    func runConfig(_ store: ArtifactStore) throws
        -> (TeacherTrainingConfig, TrainingState?, Float?, ImageDataset?, [ResumeConfig.Change]) {
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
            wanted.model = try backbone.apply(to: config.model)
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
            c.model = try backbone.apply(to: c.model)
            if case .dit(var d) = c.model { d.classDropoutProb = Double(c.labelDropout); c.model = .dit(d) }
            images = try data.load(defaultSplit: .train)
            try c.adapt(to: images!)
            config = c
        }
        return (config, state, guidance, images, overrides)
    }
}
