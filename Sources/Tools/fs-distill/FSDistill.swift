import ArgumentParser
import Datasets
import Foundation
import NN
import Store
import TensorCore
import ToolSupport
import Train

extension DistillMethod: ExpressibleByArgument {}
extension AdversarialFake: ExpressibleByArgument {}
extension DistillStart: ExpressibleByArgument {}
extension AdversarialReal: ExpressibleByArgument {}
extension DistillWeight: ExpressibleByArgument {}
extension DiscriminatorKind: ExpressibleByArgument {}
extension DistillConfigError: ToolExitCoded { public var toolExitCode: ExitCode { .usage } }

@main
struct FSDistill: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fs-distill",
        abstract: "Distill the teacher into a guidance-free few-step student (ReFlow, PeRFlow, FlowSteer, PCM).",
        discussion: """
        The student starts as a copy of the teacher's EMA weights, takes the label
        as input and samples with K Euler steps on the --schedule grid without
        guidance (recommended_cfg 1).

        Methods:
          reflow     one segment 1 -> 0: (noise, teacher endpoint) pairs from
                     --bank.
          perflow    PeRFlow as published: starts sigma_k*eps + (1-sigma_k)*x0
                     from real MNIST images; the teacher (w ~ U[--cfg-range])
                     solves each window with --substeps Euler steps, in a pool
                     of --pairs pairs made at start (or --online, every step).
          flowsteer  PeRFlow plus toggles: --ota (starts on the teacher's
                     authentic trajectory, from --bank, or --online solved from
                     noise during training); --adversarial (discriminator = the
                     teacher's embeddings, encoder and middle block + one head;
                     hinge loss; generator terms --lambda-adv * -D(fake) and
                     --lambda-fm * feature matching, either may be 0).
          pcm        phased consistency (PCM, Wang et al. 2024): K phases on
                     the student's grid; x_t from real images at a teacher
                     sub-grid point t, one teacher Euler step (--substeps per
                     phase, CFG w ~ U[--cfg-range]) to t'; loss
                     |f(x_t, t) - f_ema(x_t', t')|^2 with f(x, t) = x +
                     (phase end - t) v; target = the student's EMA
                     (--ema-decay).

        LoRA students (--lora R): only adapters on the teacher's linears train
        (PEFT's LoRA: W + (alpha/R) B A, B zero at the start, so step 0 is the
        teacher); checkpoints hold the adapters and name the teacher by hash.
        fs-sample and fs-eval merge them with the teacher; fs-store export
        writes the merged model or, with --adapters-only, PEFT's adapter file.

        Checkpoints (student weights, EMA, AdamW; discriminator and its AdamW;
        step) are stored every --checkpoint-every steps as RUN@STEP. --resume
        continues a killed run and ends bit-identical to an uninterrupted run
        with the same seed, whatever --threads or MPI ranks either used (a run without
        checkpoints starts fresh). A NaN or exploding loss exits with code 5
        and keeps the last good checkpoint. Metrics per step: loss_dist,
        loss_adv, loss_fm, loss_d, d_acc, d_real, d_fake, lr, grad_norm,
        loss_total.

        SIGINT/SIGTERM stop after the current step with a checkpoint, the run
        marked interrupted (exit 130/143). --resume refuses options that differ
        from the recorded run (exit 2, each named with its recorded value)
        unless --override-config, which applies them and records the change.
        MNIST (PeRFlow starts, --adv-real data) is read from $FS_DATA_DIR, else
        from data/mnist above the current directory or the executable.

        Examples:
          fs-distill --run perflow-diff --teacher teacher --method perflow \\
                     --schedule diffusers
          fs-distill --run ota --teacher teacher --bank bank-k4 \\
                     --method flowsteer --ota
          fs-distill --run full --teacher teacher --bank bank-k4 \\
                     --method flowsteer --ota --adversarial \\
                     --lambda-adv 0.05 --lambda-fm 0.1 --adv-fake step
          fs-distill --run full --steps 800 --resume
          fs-distill --run lora4 --teacher teacher --method flowsteer --ota \\
                     --online --lora 4 --lora-alpha 8
        """)

    @OptionGroup var common: CommonOptions
    @OptionGroup(title: "Real images (PeRFlow starts, --adv-real data)") var data: DataOptions
    @Option(name: .customLong("run"), help: "Run name (checkpoints are RUN@STEP).") var runName: String
    @Option(help: "Teacher checkpoint reference (RUN, RUN@STEP, tag, name or hash prefix); on --resume defaults to the recorded one.")
    var teacher: String?
    @Option(help: "Trajectory bank reference (reflow and flowsteer --ota without --online); on --resume defaults to the recorded one.")
    var bank: String?
    @Option(help: "reflow, perflow, flowsteer or pcm (default flowsteer).") var method: DistillMethod?
    @Flag(help: "FlowSteer: segment starts on the teacher's authentic trajectory (OTA).") var ota = false
    @Flag(help: "Solve the teacher during training: OTA from noise instead of --bank, PeRFlow windows instead of a pool.")
    var online = false
    @Flag(help: "FlowSteer: add the discriminator (hinge loss) and the generator's adversarial/FM terms.") var adversarial = false
    @Option(help: "Weight of the generator term -mean D(fake) (0 disables it).") var lambdaAdv: Float?
    @Option(help: "Weight of feature matching on D's feature maps (0 disables it).") var lambdaFm: Float?
    @Option(help: "Share of distillation samples at the segment start sigma_k, the only point the student's step evaluates (default 0: uniform sigma_t in the segment, as PeRFlow).") var startShare: Float?
    @Flag(help: "Learning rate: a cosine from --lr down to 0 at --steps after the warm-up (default: constant).")
    var cosineDecay = false
    @Option(help: "EMA decay of the student's weights (default: the preset's, 0.995).") var emaDecay: Float?
    @Option(help: "Starts of the distillation loss's segments (OTA): trajectory (the teacher's state z_k), rollout (the student's own steps from the noise, no gradients; target (z_{k+1} - start) / (sigma_{k+1} - sigma_k)) or backprop (rollout with gradients through the earlier steps; needs --start-share 1).")
    var distStart: DistillStart?
    @Option(help: "Segment weighting of the distillation loss: velocity (every sample's velocity MSE alike, PeRFlow's) or state (times (sigma_{k+1} - sigma_k)^2, normalised: the MSE of the state the step lands on).")
    var distWeight: DistillWeight?
    @Option(help: "Adversarial fake: step (student's Euler step from the teacher's state) or rollout (student's own rollout).")
    var advFake: AdversarialFake?
    @Option(help: "Adversarial real: teacher (the teacher's state at the segment end, the paper's) or data (a real MNIST training image of the label, noised to that sigma; beyond the paper).")
    var advReal: AdversarialReal?
    @Option(help: "Adversarial segment probabilities P1,...,PK, noisiest segment first (default: 0.4 for the first, the rest shared equally: 0.4,0.2,0.2,0.2 for K = 4).")
    var advProbs: String?
    @Option(help: "Steps of distillation alone before the adversarial part (D and the generator terms) switches on (default: 30% of --steps at the start of the run).") var advWarmup: Int?
    @Option(help: "Samples per step in the adversarial batch.") var advBatchSize: Int?
    @Option(name: [.customLong("disc-lr"), .customLong("d-lr")], help: "Discriminator learning rate (AdamW, betas 0.5, 0.999).")
    var discLr: Float?
    @Option(help: "Discriminator: encoder (the teacher's encoder, trained whole) or frozen-heads (the frozen teacher's features at every depth, a trainable head each, states re-noised first; LADD).")
    var disc: DiscriminatorKind?
    @Option(help: "R1 penalty weight gamma on D's real inputs (finite-difference estimate; default 0: none).") var r1: Float?
    @Option(help: "D's AdamW steps per student step (default 1; the extra ones on fresh adversarial draws).") var dSteps: Int?
    @Option(help: "DiT teachers: the teacher's first N blocks make the discriminator (default: half).")
    var discBlocks: Int?
    @Option(help: "Student segments K = inference steps (1, 2, 4 or 8; default: the bank's K, else 4).") var segments: Int?
    @Option(help: "Grid of the segment boundaries and of the student's steps: fixed or diffusers.") var schedule: ScheduleKind?
    @Option(help: "Schedule shift (default 3).") var shift: Float?
    @Option(help: "Teacher Euler sub-steps per segment (PeRFlow windows, online OTA).") var substeps: Int?
    @Option(help: "Teacher CFG range LO,HI: w ~ U[LO, HI] per pair (default: the bank's, else the preset's 1,2).")
    var cfgRange: String?
    @Option(help: "PeRFlow pool size: pairs generated from --seed at start, and again on --resume (default 4096).") var pairs: Int?
    @Option(help: "Train until this step (default: the preset's).") var steps: Int?
    @Option(help: "Distillation batch size.") var batchSize: Int?
    @Option(help: "Fixed gradient chunks per batch (the unit of MPI ranks; preset 4).") var gradientChunks: Int?
    @Option(help: "Student learning rate (AdamW, warm-up then constant, or a cosine with --cosine-decay).") var lr: Float?
    @Option(help: "LoRA student of rank R: only adapters on the teacher's linears train (the teacher stays frozen; checkpoints hold the adapters).")
    var lora: Int?
    @Option(help: "LoRA alpha: the update is (alpha / R) B A (default: R).") var loraAlpha: Double?
    @Option(help: "LoRA target modules, comma-separated, matched as PEFT does (the name or a dotted suffix; default: the DiT's attn.qkv, attn.proj, mlp.fc1, mlp.fc2, adaLN_modulation.1, final_layer.linear, or the UNet's time_embed.0, time_embed.2, emb_proj).")
    var loraTargets: String?
    @Option(help: "Checkpoint every K steps (and at the end).") var checkpointEvery: Int = 100
    @Option(help: "Seed of every draw (pairs, batches, discriminator head; default 0).") var seed: UInt64?
    @Option(help: "Preset: tiny (tests) or mnist (the pilot's settings; default).") var preset: String?
    @Flag(help: "Continue run RUN from its latest checkpoint (settings given with it must match the recorded ones).")
    var resume = false
    @Flag(help: "With --resume: apply settings that differ from the recorded ones, and record the change in the run.")
    var overrideConfig = false

    func validate() throws {
        try OptionCheck.float("--lambda-adv", lambdaAdv, .nonNegative)
        try OptionCheck.float("--lambda-fm", lambdaFm, .nonNegative)
        try OptionCheck.float("--start-share", startShare, .range(0...1))
        try OptionCheck.float("--ema-decay", emaDecay, .range(0...1))
        try OptionCheck.float("--disc-lr", discLr, .positive)
        try OptionCheck.float("--r1", r1, .nonNegative)
        try OptionCheck.int("--d-steps", dSteps, 1...DistillTrainer.maxDiscSteps)
        try OptionCheck.float("--shift", shift, .positive)
        try OptionCheck.float("--lr", lr, .positive)
        try OptionCheck.int("--checkpoint-every", checkpointEvery, 1...Int.max)
        try OptionCheck.int("--steps", steps, 1...Int.max)
        try OptionCheck.int("--batch-size", batchSize, 1...Int.max)
        try OptionCheck.int("--adv-batch-size", advBatchSize, 1...Int.max)
        try OptionCheck.int("--pairs", pairs, 1...Int.max)
        try OptionCheck.int("--substeps", substeps, 1...Int.max)
        try OptionCheck.int("--adv-warmup", advWarmup, 0...Int.max)
        try OptionCheck.int("--lora", lora, 1...Int.max)
        try OptionCheck.float("--lora-alpha", loraAlpha, .positive)
        if lora == nil && (loraAlpha != nil || loraTargets != nil) {
            throw ValidationError("--lora-alpha and --lora-targets need --lora RANK")
        }
        if let t = loraTargets, Self.loraTargetList(t) == nil {
            throw ValidationError("--lora-targets '\(t)': expected comma-separated module names, e.g. attn.qkv,mlp.fc1")
        }
        if let p: [Double] = advProbs.flatMap({ Self.numbers($0) }) {
            for v in p { try OptionCheck.float("--adv-probs", v, .range(0...1)) }
        }
        if let r: [Float] = cfgRange.flatMap({ Self.numbers($0) }) {
            for v in r { try OptionCheck.float("--cfg-range", v, .nonNegative) }
        }
    }

    mutating func run() throws {
        try DataParallelTool.run("fs-distill") { try distill($0) }
    }

    static func main() { runAsTool() }

    func distill(_ dp: DataParallelTool) throws {
        common.applyThreads()
        // The teacher (and bank) come from the store, so it must exist: a missing store is bad input,
        // never a new empty file. A .safetensors teacher has to be imported first (lineage).
        if let teacher, LoadedModel.isFileReference(teacher) {
            _ = try LoadedModel.load(file: teacher)   // a missing, corrupt or truncated file is reported as such (exit 3)
            throw ToolError.badInput("--teacher \(teacher): fs-distill reads its teacher from the store (for the student's "
                                     + "lineage); import the file first: fs-store import \(teacher) --name teacher")
        }
        let store = try dp.openStore(path: common.storePath) { try common.openExistingStore() }
        let existing = try store.artifacts(kind: ArtifactKind.checkpoint, run: runName)
        let last = existing.max { ($0.step ?? 0) < ($1.step ?? 0) }
        var config: DistillConfig
        var restored: (DistillState, StudentCheckpoint.Recorded)?
        var overrides: [ResumeConfig.Change] = []
        if resume, let last {
            let r = try StudentCheckpoint.load(store, last)
            config = r.config
            try checkLoRAResume(recorded: config.lora)
            if let steps { config.steps = steps }
            var wanted = config
            try apply(to: &wanted, fresh: false)
            let changes = try ResumeConfig.changes(recorded: config.json, wanted: wanted.json, flags: Self.flagOfKey,
                                                   ignoring: ["steps"])
            overrides = try ResumeConfig.enforce(changes, run: runName, override: overrideConfig,
                                                 fixed: ["segments", "schedule", "shift", "method", "adversarial", "preset", "disc"])
            if !overrides.isEmpty {
                try wanted.validate()
                config = wanted
                common.log("overriding the recorded config of \(runName) from step \(r.state.step): "
                           + overrides.map(\.description).joined(separator: "; "))
            }
            restored = (r.state, r.recorded)
            common.log("resuming \(runName) from step \(r.state.step)")
        } else {
            if !existing.isEmpty {
                throw ToolError.usage("run '\(runName)' already has checkpoints; pass --resume to continue it or choose another --run")
            }
            if overrideConfig { throw ToolError.usage("--override-config only applies to --resume of a run with checkpoints") }
            config = try makeConfig()
        }

        // Teacher and bank (on resume: the recorded ones unless given; their hashes must match).
        guard let teacherRef = teacher ?? restored?.1.teacherRef else {
            throw ToolError.usage("--teacher is required (a teacher checkpoint reference)")
        }
        let loaded = try LoadedModel.load(reference: teacherRef, in: store)
        guard loaded.kind == .teacher else {
            throw ToolError.badInput("'\(teacherRef)' is a student checkpoint (\(loaded.displayName)); --teacher expects a teacher")
        }
        if let r = restored?.1, r.teacherHash != loaded.contentHash {
            throw ToolError.badInput("teacher '\(teacherRef)' (\(loaded.contentHash.prefix(12))) is not the teacher this run was started with (\(r.teacherHash.prefix(12)))")
        }
        var bankInfo: BankInput?
        if config.needsBank || bank != nil {
            guard let bankRef = bank ?? restored?.1.bankRef else {
                throw ToolError.usage("--method \(config.method.rawValue)\(config.ota ? " --ota" : "") needs --bank (a trajectory bank from fs-rollout)")
            }
            let b = try BankInput.load(store, ref: bankRef)
            if let r = restored?.1, let h = r.bankHash, h != b.record.hash {
                throw ToolError.badInput("bank '\(bankRef)' (\(b.record.shortHash)) is not the bank this run was started with (\(h.prefix(12)))")
            }
            if restored == nil { try b.check(against: &config, teacherHash: loaded.contentHash, explicitRange: cfgRange != nil, explicitSegments: segments != nil, explicitSubsteps: substeps != nil) }
            if !config.needsBank { common.log("note: --bank is not used by this configuration (recorded as lineage only)") }
            bankInfo = b
        }
        if restored == nil, let rank = lora {
            let targets = loraTargets.flatMap(Self.loraTargetList) ?? LoRAConfig.defaultTargets(base: loaded.model.network.parameterSpecs)
            config.lora = LoRAConfig(rank: rank, alpha: loraAlpha, targets: targets)
        }
        try config.validate()
        if let l = config.lora {
            do { _ = try LoRA(l, base: loaded.model.network.parameterSpecs) } catch { throw ToolError.usage("--lora-targets: \(error)") }
        }
        // Refuse batches or pools that cannot fit before the pool is generated or the run marked running.
        let model = loaded.config, side = loaded.model.sampleShape[1], adv = config.adversarial ? config.advBatchSize : 0
        let floats = Double(loaded.model.sampleShape.reduce(1, *))   // one state of the pool
        try MemoryBudget.check("--batch-size", value: config.batchSize) {
            MemoryEstimates.training(model, batch: $0 + adv, passes: 3, imageSize: side) + Double(config.pairs) * floats * 4 * 3
        }
        try MemoryBudget.check("--pairs", value: config.pairs) {
            MemoryEstimates.training(model, batch: config.batchSize + adv, passes: 3, imageSize: side) + Double($0) * floats * 4 * 3
        }

        if let b = bankInfo, b.stateShape != loaded.model.sampleShape {
            throw ToolError.badInput("bank '\(b.record.name)' holds states of \(b.stateShape) but the teacher makes \(loaded.model.sampleShape)")
        }
        let images = config.needsImages ? try trainingImages(for: loaded) : nil
        let trajectories = config.needsBank ? try bankInfo!.trajectories(store) : nil
        let pooled = config.generatesPool
        if pooled {
            common.log("generating \(config.pairs) PeRFlow pairs (teacher, \(config.substeps) sub-steps, CFG U[\(config.cfgLow), \(config.cfgHigh)])")
        }
        let poolProgress = pooled ? common.progress("pairs", total: config.pairs, unit: "pair") : nil
        let data = try DistillData(config: config, teacher: loaded.model, trajectories: trajectories, images: images,
                                   poolProgress: { poolProgress?.update(completed: $0) })
        poolProgress?.finish()
        let trainer = DistillTrainer(data: data, communicator: dp.communicator)
        var state = restored?.0 ?? trainer.initialState()
        try dp.loaded()
        if let images { common.log("data: \(images.summary)") }
        let writer = StudentCheckpoint(store: store, run: runName, config: config, teacher: loaded, teacherRef: teacherRef,
                                       bank: bankInfo)
        guard state.step < config.steps else {
            common.log("run \(runName) is already at step \(state.step) >= --steps \(config.steps); nothing to do")
            try summary(store, state, config: config, last: nil, secondsPerStep: nil)
            return
        }
        if dp.writes {
            try store.beginRun(name: runName, kind: "student", config: try ResumeConfig.recording(
                config.json, step: state.step, changes: overrides, previous: try store.run(runName)?.config))
        }
        var lastMetrics: DistillStepMetrics?
        var loop = TrainLoop<DistillState>(target: config.steps, checkpointEvery: checkpointEvery) { state, reference in
            let m = try trainer.step(&state, lossScale: reference)
            lastMetrics = m
            var detail = String(format: "dist %.4f", m.lossDist)
            if let d = m.lossD, let a = m.dAccuracy { detail += String(format: " D %.3f acc %.2f", d, a) }
            if let f = m.lossFM { detail += String(format: " fm %.4f", f) }
            return TrainLoopStep(loss: m.lossDist, metrics: m.named, detail: detail)
        }
        loop.saveCheckpoint = { try writer.save($0) }
        loop.checkpointMetrics = { [("seconds_per_step", $0.secondsPerStep)] }
        let outcome = try store.guardingRun(runName) { () throws -> TrainLoopOutcome in
            // Steps already in the metric table (a kill after the metrics but before the checkpoint) are not repeated.
            loop.recordedUpTo = try store.metrics(run: runName, name: "loss_dist").map(\.step).max() ?? 0
            loop.attach(store: store, run: runName, dp: dp, progress: common.progress(
                "fs-distill \(runName)", total: config.steps, unit: "step", completed: state.step))
            do { return try loop.run(&state) } catch let e as TrainingDiverged { throw ToolError.diverged(e.description) }
        }
        try outcome.throwIfInterrupted(store: store, run: runName, step: state.step, resume:
            "fs-distill --store \(store.path) --run \(runName) --steps \(config.steps) --resume")
        let sps = loop.timing.elapsed / Double(max(1, loop.timing.steps))
        try summary(store, state, config: config, last: lastMetrics, secondsPerStep: sps)
    }

    /// The run's configuration from the preset and the command line (bank-dependent defaults are filled in later).
    /// "a,b,c" as numbers (spaces around each allowed); nil when empty or any part is not a number.
    static func numbers<T: LosslessStringConvertible>(_ text: String) -> [T]? {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { T($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.allSatisfy({ $0 != nil }) else { return nil }
        return parts.map { $0! }
    }

    /// The real images PeRFlow starts and `--adv-real data` use: `--data`, else the images the teacher was
    /// trained on (hash-checked), else MNIST train for teachers made before datasets were recorded.
    func trainingImages(for teacher: LoadedModel) throws -> ImageDataset {
        let images = data.spec == nil ? try data.loadRecorded(teacher.dataset, legacySpec: "mnist") : try data.load(defaultSplit: .train)
        guard Array(images.images.shape.dropFirst()) == teacher.model.sampleShape, images.classCount <= teacher.config.numClasses else {
            throw ToolError.badInput("\(images.summary) does not fit the teacher (\(teacher.model.sampleShape), \(teacher.config.numClasses) classes)")
        }
        return images
    }

    /// "a,b" as module names (no empty ones); nil otherwise.
    static func loraTargetList(_ text: String) -> [String]? {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        return parts.isEmpty || parts.contains(where: \.isEmpty) ? nil : parts
    }

    /// On --resume the LoRA options may only repeat the recorded ones (the adapters are the run's state).
    func checkLoRAResume(recorded: LoRAConfig?) throws {
        guard let rank = lora else { return }
        guard let r = recorded else {
            throw ToolError.usage("--lora: run '\(runName)' was recorded as full fine-tuning; a LoRA student needs a new --run")
        }
        let targets = loraTargets.flatMap(Self.loraTargetList) ?? r.targets
        if rank != r.rank || (loraAlpha ?? r.alpha) != r.alpha || targets != r.targets {
            throw ToolError.usage("--lora/--lora-alpha/--lora-targets differ from the recorded LoRA of run '\(runName)' "
                                  + "(r \(r.rank), lora_alpha \(r.alpha), targets \(r.targets.joined(separator: ","))); they cannot change on --resume")
        }
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
        "disc": "--disc", "r1_gamma": "--r1", "d_steps": "--d-steps",
    ]

    func makeConfig() throws -> DistillConfig {
        let presetName = preset ?? "mnist"
        guard var c = DistillConfig.preset(presetName, method: method ?? .flowsteer, seed: seed ?? 0) else {
            throw ToolError.usage("unknown preset '\(presetName)' (known: \(DistillConfig.presetNames.joined(separator: ", ")))")
        }
        try apply(to: &c, fresh: true)
        if checkpointEvery < 1 { throw ToolError.usage("--checkpoint-every must be at least 1") }
        try c.validate()
        if !adversarial && (lambdaAdv != nil || lambdaFm != nil || advFake != nil || advReal != nil || advProbs != nil || advWarmup != nil
                            || discBlocks != nil || disc != nil || r1 != nil || dSteps != nil) {
            throw ToolError.usage("--lambda-adv/--lambda-fm/--adv-fake/--adv-real/--adv-probs/--adv-warmup/--disc-blocks/--disc/--r1/--d-steps need --adversarial")
        }
        return c
    }

    /// Applies the options given on the command line to `c`: all of them with their defaults for a new run
    /// (`fresh`), only the explicitly given ones on --resume (flags only when set), so the result can be
    /// compared with the recorded config.
    func apply(to c: inout DistillConfig, fresh: Bool) throws {
        if !fresh {
            if let preset { c.preset = preset }
            if let method { c.method = method }
            if let seed { c.seed = seed }
        }
        if fresh || ota { c.ota = ota }
        if fresh || online { c.online = online }
        if fresh || adversarial { c.adversarial = adversarial }
        if let lambdaAdv { c.lambdaAdv = lambdaAdv }
        if let lambdaFm { c.lambdaFM = lambdaFm }
        if let startShare { c.startShare = startShare }
        if let distStart { c.distStart = distStart }
        if let distWeight { c.distWeight = distWeight }
        if cosineDecay { c.cosineDecay = true }
        if let emaDecay { c.emaDecay = emaDecay }
        if let advFake { c.advFake = advFake }
        if let advReal { c.advReal = advReal }
        if let advProbs {
            guard let p: [Double] = Self.numbers(advProbs) else {
                throw ToolError.usage("--adv-probs '\(advProbs)': expected comma-separated numbers, e.g. 0.4,0.2,0.2,0.2")
            }
            c.advProbs = p
        }
        if let advBatchSize { c.advBatchSize = advBatchSize }
        if let discLr { c.discLearningRate = discLr }
        if let discBlocks {
            guard discBlocks >= 1 else { throw ToolError.usage("--disc-blocks must be at least 1, got \(discBlocks)") }
            c.discBlocks = discBlocks
        }
        if let disc { c.disc = disc }
        if let r1 { c.r1Gamma = r1 }
        if let dSteps { c.discSteps = dSteps }
        if let segments { c.segments = segments } else if fresh, let p = c.advProbs { c.segments = p.count }
        if fresh || schedule != nil { c.schedule = schedule ?? .fixed }
        if fresh || shift != nil { c.shift = shift ?? 3 }
        if let substeps { c.substeps = substeps }
        if let cfgRange {
            guard let parts: [Float] = Self.numbers(cfgRange), parts.count == 2 else {
                throw ToolError.usage("--cfg-range '\(cfgRange)': expected LO,HI, e.g. 1,2")
            }
            (c.cfgLow, c.cfgHigh) = (parts[0], parts[1])
        }
        if let pairs { c.pairs = pairs }
        if let steps { c.steps = steps }
        if fresh {
            c.advWarmup = advWarmup ?? (preset ?? "mnist" == "tiny" && steps == nil ? c.advWarmup : DistillConfig.defaultAdvWarmup(steps: c.steps))
        } else if let advWarmup {
            c.advWarmup = advWarmup
        }
        if let batchSize { c.batchSize = batchSize }
        if let gradientChunks { c.gradientChunks = gradientChunks }
        if let lr { c.learningRate = lr }
    }

    func summary(_ store: ArtifactStore, _ s: DistillState, config: DistillConfig, last: DistillStepMetrics?,
                 secondsPerStep: Double?) throws {
        var out: [String: Any] = ["run": runName, "step": s.step, "store": store.path, "checkpoint": "\(runName)@\(s.step)",
                                  "method": config.method.rawValue, "segments": config.segments,
                                  "schedule": config.schedule.rawValue]
        if let last { for (k, v) in last.named { out[k] = v } }
        if let secondsPerStep { out["seconds_per_step"] = secondsPerStep }
        try common.emit(out, human: "distilled \(runName) to step \(s.step)"
                        + (last.map { String(format: ", loss_dist %.4f", $0.lossDist) } ?? "")
                        + (secondsPerStep.map { String(format: ", %.3f s/step", $0) } ?? ""))
    }
}
