import Foundation
import NN
import TensorCore

/// Which distillation objective a student run uses (issue 7; paper §3-§5).
public enum DistillMethod: String, CaseIterable, Codable, Sendable {
    /// One segment [1 -> 0]: (noise, teacher endpoint) pairs from a trajectory bank (rectified flow).
    case reflow
    /// PeRFlow as published: off-trajectory segment starts interpolated from real MNIST images.
    case perflow
    /// FlowSteer with independent toggles (OTA, online, adversarial).
    case flowsteer
    /// Phased consistency distillation (PCM, `PhasedConsistency`): x_t from real images, the teacher's ODE step, EMA target.
    case pcm
}

/// How the adversarial "fake" state is produced (paper §5, readings R1 and R2).
public enum AdversarialFake: String, CaseIterable, Codable, Sendable {
    /// R1: the student's one Euler step from the teacher's on-trajectory state z_k to sigma_{k+1}.
    case step
    /// R2: the student's own rollout from the trajectory's noise to boundary k+1 (gradient through
    /// the last step only).
    case rollout
}

/// What the discriminator sees as "real" (beyond the paper, which only compares with the teacher).
public enum AdversarialReal: String, CaseIterable, Codable, Sendable {
    /// The teacher's state z_{k+1} at the segment end (the paper's reading).
    case teacher
    /// A real MNIST training image of the same label, noised to sigma_{k+1} with fresh noise (the image itself
    /// at sigma 0): D then judges the student against the data rather than against the teacher it copies, so
    /// the adversarial term can pull past the teacher's own errors. Feature matching stays paired with the
    /// teacher's state.
    case data
}

/// Where the discriminator judges a segment (beyond the paper, which judges the state at the segment end).
public enum AdversarialState: String, CaseIterable, Codable, Sendable {
    /// The state z_{k+1} at the segment end sigma_{k+1}: the teacher's for the real, the student's step for the fake.
    case end
    /// The segment's straight line carried on to sigma 0, z_k - sigma_k v: the clean image the step points at (v* for
    /// the real, v_theta for the fake). A velocity error shows there sigma_k / (sigma_k - sigma_{k+1}) times larger
    /// than in the end state (10x on the first segment of the shift-3 grid) and free of the end state's noise.
    case clean
}

/// How the distillation loss weighs its segments (beyond the paper).
public enum DistillWeight: String, CaseIterable, Codable, Sendable {
    /// Every sample's velocity MSE counts the same (PeRFlow's loss).
    case velocity
    /// Sample i's velocity MSE times (sigma_{k+1} - sigma_k)^2 / mean over the segments: the MSE of the state its
    /// step lands on, so a long last step (where the image's detail is decided) weighs more than a short first one.
    case state
}

/// Where the distillation loss's segment starts come from (OTA runs).
public enum DistillStart: String, CaseIterable, Codable, Sendable {
    /// The teacher's state z_k at the segment start (the paper's OTA).
    case trajectory
    /// The student's own Euler rollout from the trajectory's noise to sigma_k (no gradients), with the teacher's
    /// z_{k+1} as the segment end: v* = (z_{k+1} - z^_k) / (sigma_{k+1} - sigma_k) also corrects the drift the
    /// student's earlier steps leave, the states its step meets at inference.
    case rollout
    /// As `rollout`, with gradients through the rollout (backpropagation through the student's earlier steps):
    /// the loss value is rollout's at the segment start, but each step also learns where it leaves the later
    /// ones. Costs about (k+1) forward and backward passes for a segment-k sample; needs --start-share 1.
    case backprop
}

/// Everything that defines a distillation run. Saved with every checkpoint, so a resumed run
/// continues under exactly the settings it started with.
public struct DistillConfig: Codable, Equatable, Sendable {
    public var preset: String
    public var method: DistillMethod
    /// Segment starts from the teacher's authentic trajectory (flowsteer only).
    public var ota: Bool
    /// Teacher solves during training instead of a bank (OTA) or a pre-generated pool (PeRFlow).
    public var online: Bool
    public var adversarial: Bool
    public var lambdaAdv: Float
    public var lambdaFM: Float
    public var advFake: AdversarialFake
    /// Steps of distillation alone before the adversarial part (D training and G terms) switches on.
    public var advWarmup: Int
    /// Samples per step in the adversarial batch (separate from the distillation batch).
    public var advBatchSize: Int

    /// Number of student segments K (= inference steps).
    public var segments: Int
    public var schedule: ScheduleKind
    public var shift: Float
    /// Teacher Euler sub-steps per segment (PeRFlow windows and online OTA).
    public var substeps: Int
    /// Teacher CFG scale per sample, w ~ U[cfgLow, cfgHigh].
    public var cfgLow: Float
    public var cfgHigh: Float
    /// Size of the deterministic PeRFlow pair pool generated at start (ignored when `online`).
    public var pairs: Int

    public var steps: Int
    public var batchSize: Int
    public var learningRate: Float
    public var warmupSteps: Int
    public var weightDecay: Float
    public var gradClip: Float
    public var emaDecay: Float

    public var discLearningRate: Float
    public var discBeta1: Float
    public var discBeta2: Float

    public var seed: UInt64

    /// Share of distillation samples placed exactly at the segment start sigma_k (u = 1) instead of uniformly in
    /// the segment. The student's Euler step only ever evaluates the start, so this spends more of the loss where
    /// inference looks. nil (or 0) is PeRFlow's uniform sigma_t; optional so configs stored before it still decode.
    public var startShare: Float?

    /// Learning rate after the warm-up: constant (nil or false) or a cosine to 0 at `steps` (true). With the cosine, a
    /// run resumed with a larger --steps follows the longer schedule from then on.
    public var cosineDecay: Bool?

    /// Segment starts of the distillation loss (nil: `.trajectory`); optional so configs stored before it still decode.
    public var distStart: DistillStart?

    /// The discriminator's real states (nil: `.teacher`); optional so configs stored before it still decode.
    public var advReal: AdversarialReal?

    /// Segment weighting of L_dist (nil: `.velocity`); optional so configs stored before it still decode.
    public var distWeight: DistillWeight?

    /// C: the fixed chunks each step's distillation and adversarial batches are cut into, one tape each,
    /// gradients added in chunk order (`GradientChunks`; the unit of work of the MPI ranks). nil in runs made
    /// before data parallelism: 1, the whole batch on one tape. The presets use 4 (1, 2 or 4 ranks).
    public var gradientChunks: Int? = nil

    /// The chunk count in use: `gradientChunks` (1 when absent), at most the batch size.
    public var chunks: Int { max(1, min(gradientChunks ?? 1, batchSize)) }

    /// The adversarial batch's segment probabilities, first (noisiest) segment first (nil: the paper's
    /// `SegmentSampling.adversarial(K)`, {0.4, 0.2, 0.2, 0.2} for K = 4; its Table 6 varies them).
    public var advProbs: [Double]?

    /// How many of a DiT teacher's blocks the discriminator copies (paper Table 4; nil: half, rounded up).
    /// The UNet's discriminator has a fixed depth (its down path and middle block) and takes none.
    public var discBlocks: Int?
    /// The discriminator (nil: `.encoder`), the R1 weight gamma (nil or 0: none) and D's AdamW steps per student
    /// step (nil: 1); optional so configs stored before them still decode.
    public var disc: DiscriminatorKind?
    public var r1Gamma: Float?
    public var discSteps: Int?
    /// Where D judges a segment (nil: `.end`, the paper's); optional so configs stored before it still decode.
    public var advState: AdversarialState?

    /// The adversarial segment probabilities in use.
    public var adversarialProbabilities: [Double] { advProbs ?? SegmentSampling.adversarial(segments) }

    /// A LoRA student (only adapters on the teacher's linears train; the teacher's weights stay frozen).
    /// nil: full fine-tuning, as every run made before it.
    public var lora: LoRAConfig?

    enum CodingKeys: String, CodingKey {
        case lora
        case preset, method, ota, online, adversarial, lambdaAdv = "lambda_adv", lambdaFM = "lambda_fm"
        case advFake = "adv_fake", advWarmup = "adv_warmup", advBatchSize = "adv_batch_size"
        case segments, schedule, shift, substeps, cfgLow = "cfg_low", cfgHigh = "cfg_high", pairs
        case steps, batchSize = "batch_size", learningRate = "learning_rate", warmupSteps = "warmup_steps"
        case weightDecay = "weight_decay", gradClip = "grad_clip", emaDecay = "ema_decay"
        case discLearningRate = "disc_learning_rate", discBeta1 = "disc_beta1", discBeta2 = "disc_beta2", seed
        case startShare = "start_share", distStart = "dist_start", cosineDecay = "cosine_decay"
        case advReal = "adv_real", distWeight = "dist_weight", advProbs = "adv_probs", gradientChunks = "gradient_chunks"
        case discBlocks = "disc_blocks"
        case disc, r1Gamma = "r1_gamma", discSteps = "d_steps", advState = "adv_state"
    }

    /// Named presets. `mnist` holds the PyTorch pilot's settings (docs pilot.md): AdamW 3e-4, warm-up 100,
    /// clip 1, batch 64, EMA 0.995, 800 steps, adversarial batch 32 switched on at 30% of the steps,
    /// lambda_fm 0.1, lambda_adv 0.05, teacher w ~ U[1, 2] with 8 Euler sub-steps per segment, 4096 pairs.
    /// `tiny` is for tests and smoke runs (seconds on a tiny UNet).
    public static func preset(_ name: String, method: DistillMethod = .flowsteer, seed: UInt64 = 0) -> DistillConfig? {
        var c = DistillConfig(preset: name, method: method, ota: false, online: false, adversarial: false,
                              lambdaAdv: 0.05, lambdaFM: 0.1, advFake: .step, advWarmup: 240, advBatchSize: 32,
                              segments: 4, schedule: .fixed, shift: 3, substeps: 8, cfgLow: 1, cfgHigh: 2,
                              pairs: 4096, steps: 800, batchSize: 64, learningRate: 3e-4, warmupSteps: 100,
                              weightDecay: 0, gradClip: 1, emaDecay: 0.995, discLearningRate: 2e-4,
                              discBeta1: 0.5, discBeta2: 0.999, seed: seed)
        c.gradientChunks = 4
        switch name {
        case "mnist":
            return c
        case "tiny":
            c.steps = 6; c.batchSize = 4; c.advBatchSize = 3; c.advWarmup = 2; c.warmupSteps = 2
            c.pairs = 16; c.substeps = 2; c.learningRate = 1e-3
            return c
        default:
            return nil
        }
    }

    public static let presetNames = ["tiny", "mnist"]

    /// The default adversarial warm-up for a run of `steps` steps: 30% of them (the pilot's choice).
    public static func defaultAdvWarmup(steps: Int) -> Int { Int((Double(steps) * 0.3).rounded()) }

    /// The student's learning rate at step `step` (1-based).
    public func learningRate(step: Int) -> Float {
        cosineDecay == true ? cosineLearningRate(base: learningRate, step: step, warmup: warmupSteps, total: steps)
                            : warmupLearningRate(base: learningRate, step: step, warmup: warmupSteps)
    }

    /// Where segment starts come from.
    public var startSource: SegmentStartSource {
        switch method {
        case .reflow: return .bankNoise
        case .perflow: return .interpolated
        case .flowsteer: return ota ? .trajectory : .interpolated
        case .pcm: return .interpolated
        }
    }

    /// Whether the run generates the PeRFlow pool of `pairs` pairs at start (PCM draws its own states each step).
    public var generatesPool: Bool { startSource == .interpolated && !online && method != .pcm }

    /// Whether the run reads a trajectory bank.
    public var needsBank: Bool {
        switch startSource {
        case .bankNoise: return true
        case .trajectory: return !online
        case .interpolated: return false
        }
    }

    /// Whether the run needs real MNIST training images (PeRFlow-style starts, or data as D's real states).
    public var needsImages: Bool { startSource == .interpolated || (adversarial && advReal == .data) }

    /// Checks the combination of settings; the message names the offending option.
    public func validate() throws {
        func fail(_ s: String) -> DistillConfigError { DistillConfigError(s) }
        guard [1, 2, 4, 8].contains(segments) else { throw fail("--segments must be 1, 2, 4 or 8, got \(segments)") }
        guard shift > 0 && shift.isFinite else { throw fail("--shift must be positive, got \(shift)") }
        guard substeps >= 1 else { throw fail("--substeps must be at least 1, got \(substeps)") }
        guard cfgLow >= 0, cfgHigh >= cfgLow, cfgHigh.isFinite else {
            throw fail("--cfg-range must be LO,HI with 0 <= LO <= HI, got \(cfgLow),\(cfgHigh)")
        }
        guard steps >= 1, batchSize >= 1 else { throw fail("--steps and --batch-size must be at least 1") }
        if let c = gradientChunks, c < 1 { throw fail("--gradient-chunks must be at least 1, got \(c)") }
        guard learningRate > 0, learningRate.isFinite else { throw fail("--lr must be positive, got \(learningRate)") }
        guard emaDecay >= 0 && emaDecay < 1 else { throw fail("--ema-decay must be in [0, 1), got \(emaDecay)") }
        if let p = startShare, !(p >= 0 && p <= 1) { throw fail("--start-share must be in [0, 1], got \(p)") }
        if let d = distStart, d != .trajectory, !(method == .flowsteer && ota) {
            throw fail("--dist-start \(d.rawValue) needs --method flowsteer --ota: the student rolls out from a trajectory's noise toward that trajectory's teacher states")
        }
        if distStart == .backprop && startShare != 1 {
            throw fail("--dist-start backprop needs --start-share 1: its loss sits at the states the student's steps reach")
        }
        guard online || startSource != .interpolated || pairs >= 1 else { throw fail("--pairs must be at least 1 (or use --online)") }
        if advReal == .data && !adversarial { throw fail("--adv-real data needs --adversarial") }
        if !adversarial && (disc != nil || r1Gamma != nil || discSteps != nil || advState != nil) {
            throw fail("--disc, --r1, --d-steps and --adv-state need --adversarial")
        }
        if let g = r1Gamma, !(g >= 0 && g.isFinite) { throw fail("--r1 must be a finite number >= 0, got \(g)") }
        if let n = discSteps, !(1...DistillTrainer.maxDiscSteps).contains(n) {
            throw fail("--d-steps must be 1 to \(DistillTrainer.maxDiscSteps), got \(n)")
        }
        if let p = advProbs {
            guard adversarial else { throw fail("--adv-probs needs --adversarial") }
            guard p.count == segments, p.allSatisfy({ $0 >= 0 && $0.isFinite }), abs(p.reduce(0, +) - 1) < 1e-3 else {
                throw fail("--adv-probs must be \(segments) non-negative probabilities summing to 1 (one per segment), got \(p.map { String($0) }.joined(separator: ","))")
            }
        }
        if method != .flowsteer {
            if ota { throw fail("--ota is a FlowSteer toggle; use --method flowsteer --ota") }
            if adversarial { throw fail("--adversarial is a FlowSteer toggle; use --method flowsteer --adversarial") }
        }
        if let l = lora {
            do { try l.validate() } catch { throw fail("--lora: \(error)") }
        }
        if method == .reflow && online { throw fail("--online does not apply to reflow (it reads (noise, endpoint) pairs from a bank)") }
        if method == .pcm && online { throw fail("--online does not apply to pcm (it solves one teacher step per sample every step)") }
        if adversarial {
            guard advBatchSize >= 1 else { throw fail("--adv-batch-size must be at least 1") }
            guard lambdaAdv >= 0, lambdaFM >= 0 else { throw fail("--lambda-adv and --lambda-fm must be >= 0") }
            guard advWarmup >= 0 else { throw fail("--adv-warmup must be >= 0") }
            guard discLearningRate > 0 else { throw fail("--disc-lr must be positive") }
            if advFake == .rollout && !ota {
                throw fail("--adv-fake rollout needs --ota: the student's rollout from a trajectory's noise is compared with that trajectory's teacher state")
            }
        }
    }

    public var json: String {
        let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
        return String(decoding: try! enc.encode(self), as: UTF8.self)
    }

    public static func fromJSON(_ text: String) throws -> DistillConfig {
        try JSONDecoder().decode(DistillConfig.self, from: Data(text.utf8))
    }
}

/// Where a training segment's start state comes from.
public enum SegmentStartSource: String, Sendable {
    /// Pure noise from a bank row, paired with the row's final state (reflow).
    case bankNoise
    /// sigma_k eps + (1 - sigma_k) x0 with a real image x0 (PeRFlow, off-trajectory).
    case interpolated
    /// The teacher's authentic state at boundary k (OTA), from a bank or solved online.
    case trajectory
}

/// An invalid combination of distillation settings (a usage error for the CLI).
public struct DistillConfigError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Sub-streams of `StreamPurpose.distill`, so every draw of a distillation run is a pure function of
/// (seed, sub-stream, index) and never shares a stream with another use of the seed.
public enum DistillStream {
    public static let batch: UInt64 = 1        // per distillation sample: pair choice, sigma_t, online draws
    public static let epoch: UInt64 = 2        // pair-pool permutation of an epoch
    public static let pool: UInt64 = 3         // PeRFlow pool pair i
    public static let adversarial: UInt64 = 4  // per adversarial sample
    public static let discInit: UInt64 = 5     // discriminator head initialisation
    public static let noise: UInt64 = 6        // online noise / PeRFlow eps (per-sample seeds)
    public static let advReal: UInt64 = 7      // per adversarial sample: D's real image and its noise (--adv-real data)
    public static let loraInit: UInt64 = 8     // LoRA adapters' initialisation (A; B is zero)
    public static let renoise: UInt64 = 9      // per adversarial sample and D round: re-noising sigma and noise (--disc frozen-heads)
    public static let discRound: UInt64 = 10   // per adversarial sample of the extra D rounds (--d-steps)
    public static let r1: UInt64 = 11          // per adversarial sample and D round: the R1 estimate's perturbation

    /// The seed of draw `index` of sub-stream `sub` for run seed `seed`.
    public static func seed(_ seed: UInt64, _ sub: UInt64, _ index: Int) -> UInt64 {
        streamSeed(streamSeed(seed, StreamPurpose.distill, sub), StreamPurpose.distill, UInt64(index))
    }
}
