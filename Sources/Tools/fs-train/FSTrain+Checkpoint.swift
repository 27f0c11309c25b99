import NN
import Store
import ToolSupport
import Train

/// Teacher checkpoints in the store: `model.*`, `ema.*`, `opt.m.*`, `opt.v.*` and a teacher `CheckpointManifest`.
extension FSTrain {
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
}
