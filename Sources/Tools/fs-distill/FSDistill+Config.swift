import Store
import ToolSupport
import Train

extension FSDistill {
    /// What --resume restores: the state and what the checkpoint recorded about its inputs.
    typealias Restored = (state: DistillState, recorded: StudentCheckpoint.Recorded)

    /// The run's config: on --resume the recorded one (options given must repeat it, unless
    /// --override-config applies them), else the preset's with the options. Bank-dependent defaults
    /// are filled in later (`loadInputs`).
    func runConfig(_ store: ArtifactStore) throws -> (DistillConfig, Restored?, [ResumeConfig.Change]) {
        let existing = try store.artifacts(kind: ArtifactKind.checkpoint, run: runName)
        guard training.resume, let last = existing.max(by: { ($0.step ?? 0) < ($1.step ?? 0) }) else {
            if !existing.isEmpty {
                throw ToolError.usage("run '\(runName)' already has checkpoints; pass --resume to continue it or choose another --run")
            }
            if training.overrideConfig { throw ToolError.usage("--override-config only applies to --resume of a run with checkpoints") }
            return (try makeConfig(), nil, [])
        }
        let r = try StudentCheckpoint.load(store, last)
        var config = r.config.namingRecordedDefaults()
        try lora.checkResume(config, run: runName)
        if let steps = training.steps { config.steps = steps }
        var wanted = config
        try apply(to: &wanted, fresh: false)
        let changes = try ResumeConfig.changes(recorded: config.json, wanted: wanted.json, flags: Self.flagOfKey,
                                               ignoring: ["steps"])
        let overrides = try ResumeConfig.enforce(changes, run: runName, override: training.overrideConfig,
                                                 fixed: ["segments", "schedule", "shift", "method", "adversarial", "preset", "disc"])
        if !overrides.isEmpty {
            try wanted.validate()
            config = wanted
            common.log("overriding the recorded config of \(runName) from step \(r.state.step): "
                       + overrides.map(\.description).joined(separator: "; "))
        }
        common.log("resuming \(runName) from step \(r.state.step)")
        return (config, (r.state, r.recorded), overrides)
    }

    /// A new run's config: the preset (with --method and --seed) and every option.
    func makeConfig() throws -> DistillConfig {
        let presetName = training.preset ?? "mnist"
        guard var c = DistillConfig.preset(presetName, method: method.method ?? .flowsteer, seed: training.seed ?? 0) else {
            throw ToolError.usage("unknown preset '\(presetName)' (known: \(DistillConfig.presetNames.joined(separator: ", ")))")
        }
        try apply(to: &c, fresh: true)
        try c.validate()
        try adversarial.checkNeedsAdversarial()
        return c
    }

    /// Applies the options given on the command line to `c`: all of them with their defaults for a new run
    /// (`fresh`), only the explicitly given ones on --resume (flags only when set), so the result can be
    /// compared with the recorded config.
    func apply(to c: inout DistillConfig, fresh: Bool) throws {
        training.apply(to: &c, fresh: fresh)
        try adversarial.apply(to: &c, fresh: fresh)
        try method.apply(to: &c, fresh: fresh)
        adversarial.applyWarmup(to: &c, fresh: fresh, preset: training.preset, stepsGiven: training.steps != nil)
    }

    /// The option that sets each config key, for resume refusals.
    static let flagOfKey: [String: String] = [
        "preset": "--preset", "method": "--method", "ota": "--ota", "online": "--online", "adversarial": "--adversarial",
        "lambda_adv": "--lambda-adv", "lambda_fm": "--lambda-fm", "adv_fake": "--adv-fake", "adv_warmup": "--adv-warmup",
        "adv_batch_size": "--adv-batch-size", "segments": "--segments", "schedule": "--schedule", "shift": "--shift",
        "substeps": "--substeps", "cfg_low": "--cfg-range (low)", "cfg_high": "--cfg-range (high)", "pairs": "--pairs",
        "batch_size": "--batch-size", "learning_rate": "--lr", "ema_decay": "--ema-decay", "disc_learning_rate": "--disc-lr",
        "seed": "--seed", "start_share": "--start-share", "dist_start": "--dist-start", "cosine_decay": "--cosine-decay",
        "adv_real": "--adv-real", "dist_weight": "--dist-weight", "adv_probs": "--adv-probs",
        "disc_blocks": "--disc-blocks",
        "disc": "--disc", "r1_gamma": "--r1", "d_steps": "--d-steps", "adv_state": "--adv-state",
    ]
}
