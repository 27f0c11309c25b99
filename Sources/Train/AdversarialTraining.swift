import NN
import TensorCore

/// The discriminator's side of a distillation step: its hinge loss (with the R1 estimate) on one chunk,
/// the re-noising draws, and the extra D rounds of `--d-steps`.
extension DistillTrainer {
    /// Perturbation scale of the finite-difference R1 estimate.
    static let r1Sigma: Float = 0.01

    /// Re-noising draws for adversarial samples `first ..< first + n` of round `round` of step `s` (nil when D does not re-noise).
    func renoise(step s: Int, round: Int, first: Int, sigmas: [Float]) -> Renoise? {
        guard discriminator?.renoises == true else { return nil }
        let base = ((s - 1) * Self.maxDiscSteps + round) * config.advBatchSize + first
        return Renoise(sigmas: sigmas, seeds: sigmas.indices.map { DistillStream.seed(config.seed, DistillStream.renoise, base + $0) },
                       sampleShape: data.teacher.sampleShape)
    }

    /// The sigma D judges each adversarial pair at (`--adv-state`): the segment's end, or 0 (clean).
    func judgedSigmas(_ ap: SegmentPairs) -> [Float] {
        config.advState == .clean ? [Float](repeating: 0, count: ap.count) : ap.segments.map { grid.end($0) }
    }

    /// The teacher's side of D's comparison at `judgedSigmas`: the segment end z_{k+1}, or (clean) the point at
    /// sigma 0 of the segment's straight line (`SegmentTarget`), z_k - sigma_k v*.
    func teacherJudgedStates(_ ap: SegmentPairs) -> Tensor {
        guard config.advState == .clean else { return ap.tensor(ap.ends) }
        var out: [Float] = []
        out.reserveCapacity(ap.ends.count)
        for i in 0..<ap.count {
            let (s0, s1) = (grid.start(ap.segments[i]), grid.end(ap.segments[i]))
            let v = SegmentTarget.velocity(start: ap.start(i), end: ap.end(i), sigmaStart: s0, sigmaEnd: s1)
            out += SegmentTarget.point(start: ap.start(i), velocity: v, sigmaStart: s0, sigma: 0)
        }
        return ap.tensor(out)
    }

    /// What D takes as real at the judged `sigmas`: the teacher's side, or (`--adv-real data`) a training image there.
    func discriminatorReals(_ ap: SegmentPairs, sigmas: [Float], teacher: @autoclosure () -> Tensor, step s: Int, first: Int) -> Tensor {
        config.advReal == .data ? ap.tensor(data.realStates(ap, step: s, first: first, sigmas: sigmas)) : teacher()
    }

    /// Most D rounds per step (`--d-steps`); it spaces the draw indices of the rounds.
    public static let maxDiscSteps = 16

    /// D's gradient row and the six D scalars (L_D share, right decisions, sum/count of D(real), sum/count of
    /// D(fake)) for one chunk: hinge loss on `real` and `fake` (re-noised when `renoise` is given), plus
    /// gamma/2 * R1 on the real inputs when `--r1` is set. R1 = E ||grad_x D(x)||^2 needs a second-order
    /// gradient the tape does not have, so it is estimated by finite differences: E_delta (D(x + delta) -
    /// D(x))^2 / s^2 with delta ~ N(0, s^2 I) equals ||grad_x D||^2 up to O(s^2) (s = `r1Sigma`), and
    /// differentiating that estimate needs only ordinary backpropagation.
    func discriminatorRow(_ disc: any DistillCritic, weights: StateDict, real: Tensor, fake: Tensor, sigmas: [Float],
                          labels: [Int], share: Float?, renoise rn: Renoise?, r1Seed: (Int) -> UInt64) -> (row: [Float], scalars: [Float]) {
        let dt = Tape()
        let pd = dt.bind(weights)
        let realIn = rn?.apply(real) ?? real, fakeIn = rn?.apply(fake) ?? fake, sig = rn?.sigmas ?? sigmas
        let dReal = disc(dt.constant(realIn), sigmas: sig, labels: labels, pd).logits
        let dFake = disc(dt.constant(fakeIn), sigmas: sig, labels: labels, pd).logits
        var lossD = DistillLoss.hinge(real: dReal, fake: dFake)
        if let gamma = config.r1Gamma, gamma > 0 {
            let r1 = Self.r1Estimate(real: realIn, logits: dReal, seeds: labels.indices.map(r1Seed)) {
                disc($0, sigmas: sig, labels: labels, pd).logits
            }
            lossD = lossD + r1 * (gamma / 2)
        }
        lossD = lossD.scaled(by: share)
        var row: [Float] = []
        GradientChunks.append(pd.gradients(dt.backward(lossD)), keys: weights.keys, to: &row)
        let scalars: [Float] = [
            lossD.value.scalar,
            Float(dReal.value.data.filter { $0 > 0 }.count + dFake.value.data.filter { $0 < 0 }.count),
            Float(dReal.value.sum()), Float(dReal.value.count), Float(dFake.value.sum()), Float(dFake.value.count),
        ]
        return (row, scalars)
    }

    /// The finite-difference R1 estimate mean_i (D(x_i + delta_i) - D(x_i))^2 / s^2, delta_i ~ N(0, s^2 I) from
    /// seed i; `logits` is D(x) on the tape `critic` records on.
    static func r1Estimate(real: Tensor, logits dReal: Var, seeds: [UInt64], critic: (Var) -> Var) -> Var {
        let f = real.count / max(1, seeds.count)
        var shifted = real
        shifted.data.withUnsafeMutableBufferPointer { x in
            for (i, seed) in seeds.enumerated() {
                var g = SplitMix64(seed: seed)
                for (q, e) in g.normals(f).enumerated() { x[i * f + q] += r1Sigma * e }
            }
        }
        let diff = critic(dReal.tape.constant(shifted)) - dReal
        return mean(diff * diff) * (1 / (r1Sigma * r1Sigma))
    }

    /// One extra D round (round >= 1 of `--d-steps`) on chunk `c`: fresh adversarial pairs of the round's
    /// own draws, fakes from the (already updated) student without gradients, D's gradient row only.
    func extraDiscriminatorRow(student: StateDict, disc weights: StateDict, step s: Int, round: Int, chunk c: Int) -> [Float] {
        guard let disc = discriminator else { return [] }
        let advPart = GradientChunks.samples(c, of: config.advBatchSize, chunks: config.chunks)
        var row: [Float] = []
        guard !advPart.isEmpty else { GradientChunks.appendZeros(like: weights, to: &row); return row }
        let ap = data.adversarialPairs(step: s, samples: advPart, round: round)
        let zk = ap.tensor(config.advFake == .rollout ? rolloutStarts(student, ap) : ap.starts)
        let sk = ap.segments.map { grid.start($0) }, sj = judgedSigmas(ap)
        var fake = zk
        fake.add(studentVelocity(student, zk, sigmas: sk, labels: ap.labels).scaledPerSample(zip(sj, sk).map { $0 - $1 }))
        let real = discriminatorReals(ap, sigmas: sj, teacher: teacherJudgedStates(ap), step: s, first: advPart.lowerBound)
        let base = ((s - 1) * Self.maxDiscSteps + round) * config.advBatchSize + advPart.lowerBound
        return discriminatorRow(disc, weights: weights, real: real, fake: fake, sigmas: sj, labels: ap.labels,
                                share: GradientChunks.share(advPart.count, of: config.advBatchSize),
                                renoise: renoise(step: s, round: round, first: advPart.lowerBound, sigmas: sj),
                                r1Seed: { DistillStream.seed(config.seed, DistillStream.r1, base + $0) }).row
    }

    /// The D rounds after the first (`--d-steps N`: N - 1 more AdamW steps of D per student step).
    func extraDiscriminatorRounds(student: StateDict, disc: inout StateDict, optimizer: inout AdamW, step s: Int) throws {
        for round in 1..<max(1, config.discSteps ?? 1) {
            var rows: [Float] = []
            for c in communicator.ownedChunks(of: config.chunks) {
                rows += extraDiscriminatorRow(student: student, disc: disc, step: s, round: round, chunk: c)
            }
            let sum = try communicator.orderedChunkSum(rows, length: disc.parameterCount, totalChunks: config.chunks)
            var offset = 0
            let grads = GradientChunks.unpack(sum, like: disc, offset: &offset)
            optimizer.update(&disc, grads: grads, lr: config.discLearningRate, frozen: network.frozenKeys)
        }
    }
}
