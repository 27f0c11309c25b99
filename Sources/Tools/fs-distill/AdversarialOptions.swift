import ArgumentParser
import ToolSupport
import Train

/// FlowSteer's adversarial part: the discriminator, its fakes and reals, and the generator's terms.
struct AdversarialOptions: ParsableArguments {
    @Flag(help: "FlowSteer: add the discriminator (hinge loss) and the generator's adversarial/FM terms.") var adversarial = false
    @Option(help: "Weight of the generator term -mean D(fake) (0 disables it).") var lambdaAdv: Float?
    @Option(help: "Weight of feature matching on D's feature maps (0 disables it).") var lambdaFm: Float?
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
    @Option(help: "Discriminator: frozen-heads (the default: the frozen teacher's features at every depth, a trainable head each, states re-noised first; LADD) or encoder (the paper's: the teacher's encoder, trained whole; the default of runs made before 2026-12-07).")
    var disc: DiscriminatorKind?
    @Option(help: "R1 penalty weight gamma on D's real inputs (finite-difference estimate; default 0: none).") var r1: Float?
    @Option(help: "D's AdamW steps per student step (default 1; the extra ones on fresh adversarial draws).") var dSteps: Int?
    @Option(help: "Where D judges a segment: end (the state at the segment's end sigma, the paper's) or clean (the segment's line carried on to sigma 0, z_k - sigma_k v: a clean image, where a velocity error shows larger and without noise).")
    var advState: AdversarialState?
    @Option(help: "DiT teachers: the teacher's first N blocks make the discriminator (default: half).")
    var discBlocks: Int?

    /// A new run's discriminator. The frozen-teacher heads beat the paper's encoder beyond the intervals over
    /// three training seeds at an equal budget (docs/results.md section k: FID 3.19-3.22 against 3.75-5.33) and
    /// are the DiT's best trial (results-dit.md), so they are the default; the run records its choice.
    static let defaultDisc = DiscriminatorKind.frozenHeads

    func validate() throws {
        try OptionCheck.float("--lambda-adv", lambdaAdv, .nonNegative)
        try OptionCheck.float("--lambda-fm", lambdaFm, .nonNegative)
        try OptionCheck.float("--disc-lr", discLr, .positive)
        try OptionCheck.float("--r1", r1, .nonNegative)
        try OptionCheck.int("--d-steps", dSteps, 1...DistillTrainer.maxDiscSteps)
        try OptionCheck.int("--adv-batch-size", advBatchSize, 1...Int.max)
        try OptionCheck.int("--adv-warmup", advWarmup, 0...Int.max)
        if let p: [Double] = advProbs.flatMap({ CommaList.numbers($0) }) {
            for v in p { try OptionCheck.float("--adv-probs", v, .range(0...1)) }
        }
    }

    /// A new run takes these options only with --adversarial (a resumed one has it recorded).
    func checkNeedsAdversarial() throws {
        if !adversarial && (lambdaAdv != nil || lambdaFm != nil || advFake != nil || advReal != nil || advProbs != nil || advWarmup != nil
                            || discBlocks != nil || disc != nil || r1 != nil || dSteps != nil || advState != nil) {
            throw ToolError.usage("--lambda-adv/--lambda-fm/--adv-fake/--adv-real/--adv-state/--adv-probs/--adv-warmup/--disc-blocks/--disc/--r1/--d-steps need --adversarial")
        }
    }

    /// Sets the options given (all, with their defaults, for a new run: `fresh`), except --adv-warmup,
    /// whose default depends on --steps (`applyWarmup`).
    func apply(to c: inout DistillConfig, fresh: Bool) throws {
        if fresh || adversarial { c.adversarial = adversarial }
        if let lambdaAdv { c.lambdaAdv = lambdaAdv }
        if let lambdaFm { c.lambdaFM = lambdaFm }
        if let advFake { c.advFake = advFake }
        if let advReal { c.advReal = advReal }
        if let advProbs {
            guard let p: [Double] = CommaList.numbers(advProbs) else {
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
        if let disc { c.disc = disc } else if fresh && adversarial { c.disc = Self.defaultDisc }
        if let r1 { c.r1Gamma = r1 }
        if let dSteps { c.discSteps = dSteps }
        if let advState { c.advState = advState }
    }

    /// --adv-warmup, after --steps is set: a new run defaults to 30% of its steps (the tiny preset keeps
    /// its own unless --steps is given).
    func applyWarmup(to c: inout DistillConfig, fresh: Bool, preset: String?, stepsGiven: Bool) {
        if fresh {
            c.advWarmup = advWarmup ?? (preset ?? "mnist" == "tiny" && !stepsGiven ? c.advWarmup : DistillConfig.defaultAdvWarmup(steps: c.steps))
        } else if let advWarmup {
            c.advWarmup = advWarmup
        }
    }
}
