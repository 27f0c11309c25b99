import Datasets
import Distributed
import NN
import TensorCore

/// Everything a distillation checkpoint must hold to resume bit-identically: the student's weights,
/// EMA and AdamW state, the discriminator's weights and AdamW state (empty without --adversarial),
/// and the step. Every draw is a pure function of (seed, step, index), so the step is the whole RNG state.
public struct DistillState: Sendable, Equatable {
    public var step: Int
    public var student: StateDict
    public var ema: StateDict
    public var optimizer: AdamW
    public var disc: StateDict
    public var discOptimizer: AdamW

    public init(step: Int, student: StateDict, ema: StateDict, optimizer: AdamW, disc: StateDict, discOptimizer: AdamW) {
        (self.step, self.student, self.ema, self.optimizer) = (step, student, ema, optimizer)
        (self.disc, self.discOptimizer) = (disc, discOptimizer)
    }

    public static func == (a: DistillState, b: DistillState) -> Bool {
        a.step == b.step && a.student == b.student && a.ema == b.ema && a.disc == b.disc
            && a.optimizer.step == b.optimizer.step && a.optimizer.m == b.optimizer.m && a.optimizer.v == b.optimizer.v
            && a.discOptimizer.step == b.discOptimizer.step && a.discOptimizer.m == b.discOptimizer.m
            && a.discOptimizer.v == b.discOptimizer.v
    }
}

/// What one step measured. Adversarial fields are nil while the adversarial part is off (or its
/// generator term has weight 0).
public struct DistillStepMetrics: Sendable {
    public var step: Int
    public var lossDist: Float
    public var lossAdv: Float?
    public var lossFM: Float?
    public var lossD: Float?
    public var dAccuracy: Float?
    public var dReal: Float?
    public var dFake: Float?
    public var lr: Float
    public var gradNorm: Float
    /// The generator's total objective L_dist + lambda_adv L_adv + lambda_fm L_fm.
    public var total: Float

    /// (name, value) pairs of every measured quantity, for the metric store.
    public var named: [(String, Float)] {
        var out: [(String, Float)] = [("loss_dist", lossDist), ("lr", lr), ("grad_norm", gradNorm), ("loss_total", total)]
        if let lossAdv { out.append(("loss_adv", lossAdv)) }
        if let lossFM { out.append(("loss_fm", lossFM)) }
        if let lossD { out.append(("loss_d", lossD)) }
        if let dAccuracy { out.append(("d_acc", dAccuracy)) }
        if let dReal { out.append(("d_real", dReal)) }
        if let dFake { out.append(("d_fake", dFake)) }
        return out
    }
}

/// Few-step distillation of the teacher into a guidance-free student (ReFlow, PeRFlow, FlowSteer).
///
/// One step (1-based step s):
/// 1. Distillation: B segment pairs (z_start, z_end, k, y) from `DistillData`; v* = (z_end - z_start) /
///    (sigma_{k+1} - sigma_k); sigma_t uniform in (sigma_{k+1}, sigma_k]; z_t = z_start + (sigma_t - sigma_k) v*;
///    L_dist = MSE(v_theta(z_t, sigma_t, y), v*).
/// 2. Adversarial (after `advWarmup` steps): A pairs with segment probabilities {0.4, 0.2, ...}. Fake =
///    the student's Euler step z_k + (sigma_{k+1} - sigma_k) v_theta(z_k, sigma_k, y) from the teacher's
///    state (`step`) or from the student's own rollout state (`rollout`: the first k steps without
///    gradient, the last one with it); real = the teacher's state z_{k+1}. D is conditioned on
///    sigma_{k+1} and y. The generator adds lambda_adv * (-mean D(fake)) + lambda_fm * FM with D's weights
///    bound as constants, so the gradient reaches only the student (through the fake state).
/// 3. The student takes one clipped AdamW step (warm-up lr); then D one AdamW step on the hinge loss of
///    the same (detached) fake and real states, judged with D's weights from before its update; the
///    student's EMA follows.
public struct DistillTrainer: Sendable {
    public let config: DistillConfig
    public let data: DistillData
    public let network: any VelocityNetwork
    public let discriminator: (any DistillCritic)?
    public let teacherWeights: StateDict
    /// A LoRA student's adapters (`config.lora`): the student's state is then A and B alone, applied to the
    /// frozen teacher weights on every tape; nil for full fine-tuning.
    public let lora: LoRA?
    /// The ranks that share each step's chunks (`GradientChunks`); one local rank by default.
    public let communicator: Communicator

    public init(data: DistillData, communicator: Communicator = .local) {
        self.data = data
        self.communicator = communicator
        self.config = data.config
        self.network = data.teacher.network
        self.teacherWeights = data.teacher.weights
        self.discriminator = !config.adversarial ? nil : config.disc == .frozenHeads
            ? FrozenFeatureDiscriminator(network, blocks: config.discBlocks, teacher: data.teacher.weights) as any DistillCritic
            : Discriminator(network, blocks: config.discBlocks)
        let teacherSpecs = network.parameterSpecs
        self.lora = config.lora.map { c in
            do { return try LoRA(c, base: teacherSpecs) } catch { preconditionFailure("DistillTrainer: \(error)") }
        }
    }

    public var grid: SegmentGrid { data.grid }

    /// Student = the teacher's (EMA) weights, or fresh adapters (B = 0: the teacher exactly) for a LoRA
    /// student; D = the teacher's encoder plus a seeded head.
    public func initialState() -> DistillState {
        let disc = discriminator?.initialWeights(teacher: teacherWeights,
                                                 seed: DistillStream.seed(config.seed, DistillStream.discInit, 0)) ?? StateDict()
        let student = lora?.initialParameters(seed: DistillStream.seed(config.seed, DistillStream.loraInit, 0)) ?? teacherWeights
        return DistillState(step: 0, student: student, ema: student,
                            optimizer: AdamW(weightDecay: config.weightDecay), disc: disc,
                            discOptimizer: AdamW(beta1: config.discBeta1, beta2: config.discBeta2))
    }

    /// Whether the adversarial part runs at step `step` (1-based).
    public func adversarialActive(step: Int) -> Bool { config.adversarial && step > config.advWarmup }

    /// The inputs of the distillation loss: z_t, sigma_t and v* for every pair.
    public static func distillationInputs(_ pairs: SegmentPairs, u: [Float], grid: SegmentGrid)
        -> (zt: Tensor, sigmas: [Float], target: Tensor) {
        var zt: [Float] = [], vs: [Float] = [], sig: [Float] = []
        zt.reserveCapacity(pairs.starts.count); vs.reserveCapacity(pairs.starts.count)
        for i in 0..<pairs.count {
            let (s0, s1) = (grid.start(pairs.segments[i]), grid.end(pairs.segments[i]))
            let v = SegmentTarget.velocity(start: pairs.start(i), end: pairs.end(i), sigmaStart: s0, sigmaEnd: s1)
            let st = SegmentSampling.sigma(start: s0, end: s1, u: u[i])
            zt += SegmentTarget.point(start: pairs.start(i), velocity: v, sigmaStart: s0, sigma: st)
            vs += v
            sig.append(st)
        }
        return (pairs.tensor(zt), sig, pairs.tensor(vs))
    }

    /// The student's weights bound on `tape`: what its forward reads, and what trains (the same Parameters
    /// without LoRA; with it, the adapters, applied to the teacher's weights bound as constants).
    public func studentParameters(_ tape: Tape, _ weights: StateDict, trainable: Bool = true)
        -> (forward: Parameters, trained: Parameters) {
        let own = tape.bind(weights, trainable: trainable)
        guard let lora else { return (own, own) }
        return (lora.apply(tape.bind(teacherWeights, trainable: false), own), own)
    }

    /// The student's velocity without gradients.
    func studentVelocity(_ weights: StateDict, _ x: Tensor, sigmas: [Float], labels: [Int]) -> Tensor {
        let t = Tape(recordsPullbacks: false)
        return network(t.constant(x), sigmas: sigmas, labels: labels, studentParameters(t, weights, trainable: false).forward).value
    }

    /// The student's own Euler rollout from each pair's noise to the start of its segment (no gradients): the
    /// student as a `VelocityModel` (LoRA merged once), whose row groups give every row the same bits whatever
    /// rows share its call, so a rollout of several chunks at once equals each chunk's own.
    public func rolloutStarts(_ weights: StateDict, _ pairs: SegmentPairs) -> [Float] {
        precondition(pairs.hasNoise, "rolloutStarts: pairs without trajectory noise")
        let f = pairs.sampleFloats
        var x = pairs.noises
        let longest = pairs.segments.max() ?? 0
        guard longest > 0 else { return x }
        let merged = lora?.merged(base: teacherWeights, adapters: weights) ?? weights
        // (cannot throw: the student's weights fit its network, checked when the run was set up)
        let student = try! VelocityModel(config: network.modelConfig, weights: merged, sampleShape: pairs.sampleShape)
        for j in 0..<longest {
            let active = (0..<pairs.count).filter { pairs.segments[$0] > j }
            var rows: [Float] = []; rows.reserveCapacity(active.count * f)
            for i in active { rows += x[(i * f)..<((i + 1) * f)] }
            let v = student.evaluate(pairs.tensor(rows), sigmas: active.map { _ in grid.start(j) },
                                     labels: active.map { pairs.labels[$0] })
            let d = grid.end(j) - grid.start(j)
            for (a, i) in active.enumerated() { for q in 0..<f { x[i * f + q] += d * v.data[a * f + q] } }
        }
        return x
    }

    /// `--dist-start rollout`'s starts for each of this rank's chunks at step `s`, from one rollout of all their
    /// pairs (equal to rolling each chunk out alone: `rolloutStarts`), so the threads get whole groups of rows (a
    /// chunk's later rollout steps hold only a few) and the LoRA merge is done once a step.
    func rolloutStartsByChunk(_ weights: StateDict, step s: Int, chunks: Range<Int>) -> [[Float]] {
        let parts = chunks.map { data.distillationPairs(step: s, samples: GradientChunks.samples($0, of: config.batchSize, chunks: config.chunks)).pairs }
        guard let first = parts.first else { return [] }
        var all = SegmentPairs(sampleShape: first.sampleShape)
        for part in parts { all.append(contentsOf: part) }
        let starts = rolloutStarts(weights, all)
        var out: [[Float]] = [], offset = 0
        for part in parts {
            out.append(Array(starts[offset..<(offset + part.starts.count)]))
            offset += part.starts.count
        }
        return out
    }

    /// L_dist with gradients through the student's own rollout (`--dist-start backprop`). The pairs are grouped by
    /// segment k; a group rolls out k Euler steps from its trajectories' noise on the student's tape, and
    /// r = (x^_{k+1} - z_{k+1}) / (sigma_{k+1} - sigma_k) = v_theta(x^_k) - v* is the residual of `rollout`'s loss,
    /// so the value is the same, while the gradient also reaches the earlier steps. Groups weigh by their size
    /// (the batch mean), times the segment's state weight when given.
    public func backpropDistillationLoss(_ p: Parameters, _ pairs: SegmentPairs, weights: [Float]? = nil) -> Var {
        precondition(pairs.hasNoise, "backpropDistillationLoss: pairs without trajectory noise")
        let tape = p[p.keys[0]].tape
        var total: Var?
        for k in 0..<grid.count {
            let group = pairs.subset((0..<pairs.count).filter { pairs.segments[$0] == k })
            guard group.count > 0 else { continue }
            var x = tape.constant(group.tensor(group.noises))
            for j in 0...k {
                let v = network(x, sigmas: Array(repeating: grid.start(j), count: group.count), labels: group.labels, p)
                let d = grid.end(j) - grid.start(j)
                if j == k {
                    let inv = 1 / d
                    let target = group.tensor(group.ends) * inv
                    var term = meanSquaredError(v + x * inv, target: target) * (Float(group.count) / Float(pairs.count))
                    if let weights { term = term * weights[k] }
                    total = total.map { $0 + term } ?? term
                } else {
                    x = x + v * d
                }
            }
        }
        return total!
    }

    /// The generator's adversarial terms on the student's tape: fake = z_k + (s - sigma_k) v_theta(z_k) at the judged
    /// sigma s = `nextSigmas` (sigma_{k+1}, or 0 under `--adv-state clean`),
    /// L_adv = -mean D(fake) (when lambda_adv > 0) and L_fm against D's features of `real` (when lambda_fm > 0).
    /// `disc` must be D's weights bound as constants on the student's tape (`tape.bind(w, trainable: false)`),
    /// so backpropagation reaches the student's parameters (through the fake state) and nothing of D.
    public func generatorAdversarialTerms(_ d: any DistillCritic, disc pd: Parameters, student p: Parameters, start zk: Tensor,
                                          sigmas sk: [Float], nextSigmas sk1: [Float], labels: [Int], real: Tensor,
                                          renoise rn: Renoise? = nil)
        -> (fake: Var, adv: Var?, fm: Var?) {
        let tape = p[p.keys[0]].tape
        let dsig = zip(sk1, sk).map { $0 - $1 }
        let vk = network(tape.constant(zk), sigmas: sk, labels: labels, p)
        let fake = tape.constant(zk) + scalePerSample(vk, dsig)
        let sig = rn?.sigmas ?? sk1
        let (logits, features) = d(rn?.apply(fake) ?? fake, sigmas: sig, labels: labels, pd)
        let adv = config.lambdaAdv > 0 ? DistillLoss.generator(fake: logits) : nil
        var fm: Var?
        if config.lambdaFM > 0 {
            // Real states and D's weights are constants: no pullbacks are recorded for this pass.
            let realFeatures = d(tape.constant(rn?.apply(real) ?? real), sigmas: sig, labels: labels, pd).features.map(\.value)
            fm = DistillLoss.featureMatching(fake: features, real: realFeatures)
        }
        return (fake, adv, fm)
    }

    /// Advances `state` by one step. Throws `TrainingDiverged` (leaving `state` untouched) when a loss is
    /// not finite or the generator loss exceeds 20x `reference` + 1 (on every rank alike), or a `CommunicatorError`.
    ///
    /// The distillation batch and the adversarial batch are both cut into `config.chunks` chunks (chunk c: its
    /// share of each); this rank computes its block of chunks (`chunkRow`: the student's and D's gradients and
    /// the loss shares), `orderedChunkSum` adds the rows in chunk order over all ranks, and every rank then
    /// clips and steps both optimizers on the same sums.
    @discardableResult
    public func step(_ state: inout DistillState, lossScale reference: Float? = nil) throws -> DistillStepMetrics {
        let s = state.step + 1
        let lr = config.learningRate(step: s)
        let advOn = discriminator != nil && adversarialActive(step: s)
        let length = state.student.parameterCount + (advOn ? state.disc.parameterCount : 0) + Self.scalarCount
        var rows: [Float] = []
        let owned = communicator.ownedChunks(of: config.chunks)
        let rolled = config.distStart == .rollout ? rolloutStartsByChunk(state.student, step: s, chunks: owned) : nil
        for (n, c) in owned.enumerated() {
            rows += chunkRow(state, step: s, chunk: c, adversarial: advOn, starts: rolled?[n])
        }
        let sum = try communicator.orderedChunkSum(rows, length: length, totalChunks: config.chunks)
        var offset = 0
        var grads = GradientChunks.unpack(sum, like: state.student, offset: &offset)
        let dGrads = advOn ? GradientChunks.unpack(sum, like: state.disc, offset: &offset) : nil
        let v = Array(sum[offset...])

        var m = DistillStepMetrics(step: s, lossDist: v[0], lr: lr, gradNorm: 0, total: v[1])
        if advOn && config.lambdaAdv > 0 { m.lossAdv = v[2] }
        if advOn && config.lambdaFM > 0 { m.lossFM = v[3] }
        m.gradNorm = clipGradientNorm(&grads, maxNorm: config.gradClip)
        var student = state.student, opt = state.optimizer
        opt.update(&student, grads: grads, lr: lr, frozen: network.frozenKeys)

        var disc = state.disc, discOpt = state.discOptimizer
        if let dGrads {
            discOpt.update(&disc, grads: dGrads, lr: config.discLearningRate, frozen: network.frozenKeys)
            try extraDiscriminatorRounds(student: student, disc: &disc, optimizer: &discOpt, step: s)
            m.lossD = v[4]
            m.dAccuracy = v[5] / max(1, v[7] + v[9])
            m.dReal = v[6] / v[7]
            m.dFake = v[8] / v[9]
        }

        let finite = m.total.isFinite && m.gradNorm.isFinite && (m.lossD?.isFinite ?? true)
        if !finite || (reference.map { m.lossDist > 20 * $0 + 1 } ?? false) {
            throw TrainingDiverged(step: s, loss: finite ? m.lossDist : m.total)
        }
        state.student = student
        state.optimizer = opt
        state.disc = disc
        state.discOptimizer = discOpt
        EMA.update(&state.ema, toward: student, decay: config.emaDecay)
        state.step = s
        return m
    }

    /// Scalars at the end of a chunk's row: L_dist share, total share, L_adv share, L_fm share, L_D share,
    /// D's right decisions, sum and count of D(real), sum and count of D(fake).
    static let scalarCount = 10

    /// Chunk `c`'s row: the student's gradient of its share of the generator objective (parameters in key
    /// order), D's gradient of its share of the hinge loss (when `adversarial`), then `scalarCount` scalars.
    /// `starts`: the chunk's `--dist-start rollout` starts when already rolled out (`rolloutStartsByChunk`).
    func chunkRow(_ state: DistillState, step s: Int, chunk c: Int, adversarial advOn: Bool, starts: [Float]?) -> [Float] {
        if config.method == .pcm { return consistencyRow(state, step: s, chunk: c) }
        let part = GradientChunks.samples(c, of: config.batchSize, chunks: config.chunks)
        let share = GradientChunks.share(part.count, of: config.batchSize)
        var (pairs, u) = data.distillationPairs(step: s, samples: part)
        if config.distStart == .rollout { pairs.starts = starts ?? rolloutStarts(state.student, pairs) }
        var scalars = [Float](repeating: 0, count: Self.scalarCount)

        let tape = Tape()
        let (p, trained) = studentParameters(tape, state.student)
        let lossDist: Var
        if config.distStart == .backprop {
            lossDist = backpropDistillationLoss(p, pairs, weights: config.distWeight == .state ? grid.stateWeights : nil)
                .scaled(by: share)
        } else {
            let (zt, sigmaT, target) = Self.distillationInputs(pairs, u: u, grid: grid)
            let v = network(tape.constant(zt), sigmas: sigmaT, labels: pairs.labels, p)
            if config.distWeight == .state {
                let w = grid.stateWeights   // per segment, computed once per step rather than once per sample
                lossDist = DistillLoss.distillation(v, target: target, weights: pairs.segments.map { w[$0] }).scaled(by: share)
            } else {
                lossDist = DistillLoss.distillation(v, target: target).scaled(by: share)
            }
        }
        var total = lossDist
        scalars[0] = lossDist.value.scalar

        // Adversarial chunk: the fake (student) and real (teacher) states at sigma_{k+1}, and D's hinge loss on them.
        var discRow: [Float] = []
        if advOn, let disc = discriminator {
            let advPart = GradientChunks.samples(c, of: config.advBatchSize, chunks: config.chunks)
            if advPart.isEmpty {
                GradientChunks.appendZeros(like: state.disc, to: &discRow)
            } else {
                let advShare = GradientChunks.share(advPart.count, of: config.advBatchSize)
                let ap = data.adversarialPairs(step: s, samples: advPart)
                let zk = ap.tensor(config.advFake == .rollout ? rolloutStarts(state.student, ap) : ap.starts)
                // D judges at sj: the segment's end sigma, or 0 (`--adv-state clean`).
                let sk = ap.segments.map { grid.start($0) }, sj = judgedSigmas(ap)
                let dsig = zip(sj, sk).map { $0 - $1 }
                let real = teacherJudgedStates(ap)
                let fake: Tensor
                let rn = renoise(step: s, round: 0, first: advPart.lowerBound, sigmas: sj)
                if config.lambdaAdv > 0 || config.lambdaFM > 0 {
                    let g = generatorAdversarialTerms(disc, disc: tape.bind(state.disc, trainable: false), student: p, start: zk,
                                                      sigmas: sk, nextSigmas: sj, labels: ap.labels, real: real, renoise: rn)
                    if let la = g.adv?.scaled(by: advShare) {
                        scalars[2] = la.value.scalar
                        total = total + la * config.lambdaAdv
                    }
                    if let lf = g.fm?.scaled(by: advShare) {
                        scalars[3] = lf.value.scalar
                        total = total + lf * config.lambdaFM
                    }
                    fake = g.fake.value
                } else {
                    var f = zk
                    f.add(studentVelocity(state.student, zk, sigmas: sk, labels: ap.labels).scaledPerSample(dsig))
                    fake = f
                }
                let dRealStates = discriminatorReals(ap, sigmas: sj, teacher: real, step: s, first: advPart.lowerBound)
                let base = (s - 1) * Self.maxDiscSteps * config.advBatchSize + advPart.lowerBound
                let d = discriminatorRow(disc, weights: state.disc, real: dRealStates, fake: fake, sigmas: sj, labels: ap.labels,
                                         share: advShare, renoise: rn,
                                         r1Seed: { DistillStream.seed(config.seed, DistillStream.r1, base + $0) })
                discRow += d.row
                scalars.replaceSubrange(4...9, with: d.scalars)
            }
        }
        scalars[1] = total.value.scalar
        var row: [Float] = []
        row.reserveCapacity(state.student.parameterCount + discRow.count + Self.scalarCount)
        GradientChunks.append(trained.gradients(tape.backward(total)), keys: state.student.keys, to: &row)
        return row + discRow + scalars
    }
}
