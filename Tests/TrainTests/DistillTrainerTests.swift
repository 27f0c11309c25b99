import NN
import TensorCore
import TestSupport
import Testing
@testable import Train

/// One toggle combination of the smoke test.
struct DistillCase: CustomStringConvertible, Sendable {
    var method: DistillMethod
    var ota = false, online = false, adversarial = false
    var lambdaAdv: Float = 0.05, lambdaFM: Float = 0.1
    var fake = AdversarialFake.step
    var segments = 2

    var description: String {
        "\(method.rawValue) ota=\(ota) online=\(online) adv=\(adversarial) la=\(lambdaAdv) lfm=\(lambdaFM) fake=\(fake.rawValue) K=\(segments)"
    }

    /// Every toggle combination the CLI accepts (rollout fakes need OTA), on K = 2, plus K = 1, 4 and 8.
    static var all: [DistillCase] {
        var out = [DistillCase(method: .reflow), DistillCase(method: .perflow), DistillCase(method: .perflow, online: true),
                   DistillCase(method: .pcm)]
        for ota in [false, true] {
            for online in [false, true] {
                out.append(DistillCase(method: .flowsteer, ota: ota, online: online))
                for fake in ota ? [AdversarialFake.step, .rollout] : [.step] {
                    for (la, lf) in [(Float(0.05), Float(0.1)), (0.05, 0), (0, 0.1), (0, 0)] {
                        out.append(DistillCase(method: .flowsteer, ota: ota, online: online, adversarial: true,
                                               lambdaAdv: la, lambdaFM: lf, fake: fake))
                    }
                }
            }
        }
        for k in [1, 4, 8] {
            out.append(DistillCase(method: .flowsteer, ota: true, adversarial: true, fake: .rollout, segments: k))
        }
        return out
    }
}

@Suite struct DistillTrainerTests {
    static let teacher = DistillFixtures.teacher()

    @Test(arguments: DistillCase.all)
    func smokeEveryToggle(_ c: DistillCase) throws {
        let config = DistillFixtures.tinyConfig(c.method, ota: c.ota, online: c.online, adversarial: c.adversarial,
                                                lambdaAdv: c.lambdaAdv, lambdaFM: c.lambdaFM, fake: c.fake,
                                                segments: c.segments, steps: 2)
        let trainer = try DistillFixtures.trainer(config, teacher: Self.teacher)
        var state = trainer.initialState()
        var metrics: [DistillStepMetrics] = []
        while state.step < config.steps { metrics.append(try trainer.step(&state)) }
        #expect(state.step == 2)
        #expect(metrics.allSatisfy { $0.lossDist.isFinite && $0.lossDist > 0 })
        #expect(state.student != Self.teacher.weights, "the student did not move")
        #expect(state.ema != state.student)
        // Step 1 is the adversarial warm-up; step 2 runs the adversarial part when enabled.
        #expect(metrics[0].lossD == nil)
        if c.adversarial {
            let m = metrics[1]
            #expect(m.lossD.map { $0.isFinite } == true && m.dAccuracy != nil)
            #expect((m.lossAdv != nil) == (c.lambdaAdv > 0) && (m.lossFM != nil) == (c.lambdaFM > 0))
            #expect(state.discOptimizer.step == 1)
            #expect(state.disc.keys.contains("head.weight") && state.disc.keys.contains("mid.conv2.weight"))
        } else {
            #expect(metrics[1].lossD == nil && state.disc.isEmpty)
        }
    }

    /// Run N steps, versus k steps, a "checkpoint" (copy of the state), a fresh trainer (the PeRFlow
    /// pool and bank rebuilt from scratch) and N - k more: the results must be bit-identical.
    @Test(arguments: [
        DistillCase(method: .flowsteer, ota: true, adversarial: true, fake: .rollout),
        DistillCase(method: .flowsteer, adversarial: true),
        DistillCase(method: .flowsteer, ota: true, online: true, adversarial: true),
        DistillCase(method: .pcm),
    ])
    func resumeIsBitIdentical(_ c: DistillCase) throws {
        let config = DistillFixtures.tinyConfig(c.method, ota: c.ota, online: c.online, adversarial: c.adversarial,
                                                fake: c.fake, steps: 4)
        let a = try DistillFixtures.trainer(config, teacher: Self.teacher)
        var full = a.initialState()
        while full.step < 4 { try a.step(&full) }

        let b = try DistillFixtures.trainer(config, teacher: Self.teacher)
        var part = b.initialState()
        while part.step < 2 { try b.step(&part) }
        let saved = DistillState(step: part.step, student: part.student, ema: part.ema,
                                 optimizer: AdamW(step: part.optimizer.step, m: part.optimizer.m, v: part.optimizer.v),
                                 disc: part.disc,
                                 discOptimizer: AdamW(beta1: config.discBeta1, beta2: config.discBeta2,
                                                      step: part.discOptimizer.step, m: part.discOptimizer.m,
                                                      v: part.discOptimizer.v))
        let c2 = try DistillFixtures.trainer(config, teacher: Self.teacher)
        var resumed = saved
        while resumed.step < 4 { try c2.step(&resumed) }
        #expect(resumed == full)
        if c.adversarial { #expect(full.disc != b.initialState().disc) }
    }

    /// The generator's adversarial and feature-matching terms give D's weights no gradient (they are
    /// constants on the student's tape) and the student exactly the finite-difference gradient.
    @Test func adversarialGradientReachesOnlyTheStudent() throws {
        var config = DistillFixtures.tinyConfig(.flowsteer, ota: true, adversarial: true, lambdaAdv: 1, lambdaFM: 1)
        config.advBatchSize = 2
        let trainer = try DistillFixtures.trainer(config, teacher: Self.teacher)
        let d = trainer.discriminator!
        let state = trainer.initialState()
        let ap = trainer.data.adversarialPairs(step: 2)
        let zk = ap.tensor(ap.starts), real = ap.tensor(ap.ends)
        let sk = ap.segments.map { trainer.grid.start($0) }, sk1 = ap.segments.map { trainer.grid.end($0) }

        func loss(_ student: StateDict, record: Bool) -> (Var, Parameters, Parameters) {
            let tape = Tape(recordsPullbacks: record)
            let p = tape.bind(student)
            let pd = tape.bind(state.disc, trainable: false)
            let g = trainer.generatorAdversarialTerms(d, disc: pd, student: p, start: zk, sigmas: sk, nextSigmas: sk1,
                                                      labels: ap.labels, real: real)
            return (g.adv! + g.fm!, p, pd)
        }
        let (l, p, pd) = loss(state.student, record: true)
        let grads = l.tape.backward(l)
        for k in pd.keys { #expect(grads.ifPresent(pd[k]) == nil, "discriminator weight \(k) got a gradient") }
        let studentGrads = p.gradients(grads)
        #expect(studentGrads.items.contains { $0.1.data.contains { $0 != 0 } })
        // Central differences on a few student weights.
        let h: Float = 1e-2
        for (key, index) in [("conv_out.bias", 0), ("conv_out.weight", 3), ("mid.conv1.weight", 17), ("class_embed.weight", 5)] {
            var plus = state.student, minus = state.student
            plus[key]!.data[index] += h; minus[key]!.data[index] -= h
            let numeric = (loss(plus, record: false).0.value.scalar - loss(minus, record: false).0.value.scalar) / (2 * h)
            let analytic = studentGrads[key]!.data[index]
            #expect(abs(numeric - analytic) <= 2e-2 * max(1, abs(analytic)), "\(key)[\(index)]: \(analytic) vs \(numeric)")
        }
    }

    @Test func invalidCombinationsAreRejected() {
        func fails(_ c: DistillConfig) -> Bool { (try? c.validate()) == nil }
        var c = DistillConfig.preset("tiny", method: .perflow)!
        c.ota = true
        #expect(fails(c))
        c = DistillConfig.preset("tiny", method: .flowsteer)!
        c.adversarial = true; c.advFake = .rollout
        #expect(fails(c))
        c.ota = true
        #expect(!fails(c))
        c.segments = 3
        #expect(fails(c))
        // A bank with the wrong K.
        var k4 = DistillConfig.preset("tiny", method: .flowsteer)!
        k4.ota = true; k4.segments = 4
        let bank = DistillFixtures.bank(Self.teacher, segments: 2, rows: 2)
        #expect(throws: DistillConfigError.self) {
            _ = try DistillData(config: k4, teacher: Self.teacher, trajectories: bank, images: nil)
        }
        #expect(throws: DistillConfigError.self) {
            _ = try DistillData(config: k4, teacher: Self.teacher, trajectories: nil, images: nil)
        }
    }

    /// --start-share: 0 or unset keeps the uniform placements (same stream), 1 puts every sample at the segment
    /// start, a share in between places about that share there and leaves the other placements uniform.
    @Test func startSharePlacesSamplesAtTheSegmentStart() throws {
        var c = DistillFixtures.tinyConfig(.flowsteer, ota: true)
        c.batchSize = 400
        let bank = DistillFixtures.bank(Self.teacher, segments: c.segments, rows: 2)
        func placements(_ share: Float?) throws -> [Float] {
            var cc = c; cc.startShare = share
            return try DistillData(config: cc, teacher: Self.teacher, trajectories: bank, images: nil).distillationPairs(step: 2).u
        }
        let base = try placements(nil)
        #expect(try placements(0) == base)
        #expect(base.filter { $0 == 1 }.count <= 1)
        #expect(try placements(1).allSatisfy { $0 == 1 })
        let half = try placements(0.5)
        let atStart = half.filter { $0 == 1 }.count
        #expect(atStart > 150 && atStart < 250, "\(atStart) of 400 at the start for share 0.5")
        // A sample not moved to the start keeps its uniform draw.
        #expect(zip(half, base).allSatisfy { $0 == 1 || $0 == $1 })
        c.startShare = 1.5
        #expect(throws: DistillConfigError.self) { try c.validate() }
    }

    /// --dist-start rollout: a segment-0 start is the trajectory's noise (the teacher's own start, bit for bit), later
    /// starts are the student's guidance-free rollout (not the teacher's guided state), and a training step then lands elsewhere than with
    /// the teacher's starts. Without OTA the option is rejected.
    @Test func rolloutDistillationStartsAreTheStudentsOwnStates() throws {
        var c = DistillFixtures.tinyConfig(.flowsteer, ota: true, segments: 2, steps: 1)
        c.batchSize = 8
        let teacherStarts = try DistillFixtures.trainer(c, teacher: Self.teacher)
        let pairs = teacherStarts.data.distillationPairs(step: 1).pairs
        #expect(Set(pairs.segments) == [0, 1], "the batch should hold both segments")
        let rolled = teacherStarts.rolloutStarts(Self.teacher.weights, pairs)
        for i in 0..<pairs.count {
            let r = Array(rolled[(i * 784)..<((i + 1) * 784)])
            if pairs.segments[i] == 0 { #expect(r == Array(pairs.start(i))) } else if pairs.guidance[i] != 1 {
                // (the student starts as the teacher, so only guided trajectories differ from its rollout)
                #expect(zip(r, pairs.start(i)).map { abs($0 - $1) }.max()! > 1e-4)
            }
        }
        var cr = c; cr.distStart = .rollout
        try cr.validate()
        let studentStarts = try DistillFixtures.trainer(cr, teacher: Self.teacher)
        var a = teacherStarts.initialState(), b = studentStarts.initialState()
        let ma = try teacherStarts.step(&a), mb = try studentStarts.step(&b)
        #expect(mb.lossDist.isFinite && mb.lossDist != ma.lossDist)
        #expect(a.student != b.student)
        var bad = DistillFixtures.tinyConfig(.perflow); bad.distStart = .rollout
        #expect(throws: DistillConfigError.self) { try bad.validate() }
    }

    /// --dist-start rollout rolls out all of a rank's chunks at once (`rolloutStartsByChunk`): every chunk's starts
    /// equal its own rollout bit for bit, for the tiny UNet and a tiny DiT, each a LoRA student moved off the
    /// teacher, with chunks whose later rollout steps hold a few rows or none, at 1 and 2 threads.
    @Test(arguments: [false, true])
    func rolloutOfAllChunksAtOnceEqualsEachChunkAlone(dit: Bool) throws {
        let teacher = dit ? DiTDiscriminatorTests.teacher() : Self.teacher
        var c = DistillFixtures.tinyConfig(.flowsteer, ota: true, segments: 4, steps: 1)
        c.batchSize = 12; c.gradientChunks = 4; c.distStart = .rollout
        c.lora = LoRAConfig(rank: 2, targets: dit ? LoRAConfig.ditTargets : LoRAConfig.unetTargets)
        try c.validate()
        let tr = try DistillFixtures.trainer(c, teacher: teacher)
        var w = tr.initialState().student
        for (i, (k, t)) in w.items.enumerated() { w[k] = t + randomTensor(t.shape, seed: UInt64(70 + i), scale: 0.2) }
        for step in [1, 2] {
            let chunks = (0..<4).map { tr.data.distillationPairs(step: step, samples: GradientChunks.samples($0, of: 12, chunks: 4)).pairs }
            let alone = chunks.map { tr.rolloutStarts(w, $0) }
            #expect(Set(chunks.flatMap(\.segments)).count > 2, "the batch should hold most segments")
            #expect(zip(alone, chunks).contains { $0 != $1.starts }, "the rollout should move the starts")
            for threads in [1, 2] {
                let saved = ComputeThreads.count
                ComputeThreads.set(threads)
                defer { ComputeThreads.set(saved) }
                #expect(tr.rolloutStartsByChunk(w, step: step, chunks: 0..<4) == alone, "step \(step), \(threads) threads")
                #expect(tr.rolloutStartsByChunk(w, step: step, chunks: 2..<4) == Array(alone[2...]))
            }
        }
    }

    /// --dist-start backprop: the loss value is --dist-start rollout's (start share 1), but its gradient is the total
    /// derivative through the rollout: central differences of the loss (rollout recomputed under the perturbed
    /// weights) match it where it differs most from rollout's partial gradient, which holds the starts fixed.
    @Test func backpropDistillationIsTheRolloutLossDifferentiatedThroughTheRollout() throws {
        var c = DistillFixtures.tinyConfig(.flowsteer, ota: true, segments: 2, steps: 1)
        c.batchSize = 8; c.startShare = 1; c.distStart = .backprop
        try c.validate()
        let tr = try DistillFixtures.trainer(c, teacher: Self.teacher)
        let pairs = tr.data.distillationPairs(step: 1).pairs
        #expect(Set(pairs.segments) == [0, 1], "the batch should hold both segments")
        let w = Self.teacher.weights
        func rolloutLoss(_ w: StateDict, tape: Tape) -> (Var, Parameters) {
            var rolled = pairs
            rolled.starts = tr.rolloutStarts(w, pairs)
            let (zt, sig, target) = DistillTrainer.distillationInputs(rolled, u: Array(repeating: 1, count: pairs.count), grid: tr.grid)
            let p = tape.bind(w)
            return (DistillLoss.distillation(tr.network(tape.constant(zt), sigmas: sig, labels: pairs.labels, p), target: target), p)
        }
        func backpropLoss(_ w: StateDict, tape: Tape) -> (Var, Parameters) {
            let p = tape.bind(w)
            return (tr.backpropDistillationLoss(p, pairs), p)
        }
        let (tr1, tb1) = (Tape(), Tape())
        let (lr, pr) = rolloutLoss(w, tape: tr1), (lb, pb) = backpropLoss(w, tape: tb1)
        #expect(abs(lr.value.scalar - lb.value.scalar) <= 1e-5 * max(1, lr.value.scalar), "\(lr.value.scalar) vs \(lb.value.scalar)")
        let gr = pr.gradients(tr1.backward(lr)), gb = pb.gradients(tb1.backward(lb))
        let key = "conv_in.weight"
        let (a, b) = (gb.tensor(key).data, gr.tensor(key).data)
        let probes = (0..<a.count).sorted { abs(a[$0] - b[$0]) > abs(a[$1] - b[$1]) }.prefix(4)
        #expect(abs(a[probes.first!] - b[probes.first!]) > 1e-4, "the two gradients should differ")
        let h: Float = 1e-3
        for i in probes {
            var plus = w, minus = w
            plus[key]!.data[i] += h; minus[key]!.data[i] -= h
            let numeric = (backpropLoss(plus, tape: Tape(recordsPullbacks: false)).0.value.scalar
                - backpropLoss(minus, tape: Tape(recordsPullbacks: false)).0.value.scalar) / (2 * h)
            #expect(abs(numeric - a[i]) < 0.25 * abs(a[i] - b[i]), "coordinate \(i): numeric \(numeric), backprop \(a[i]), rollout \(b[i])")
        }
        var bad = c; bad.startShare = 0.5
        #expect(throws: DistillConfigError.self) { try bad.validate() }
        var state = tr.initialState()
        #expect(try tr.step(&state).lossDist.isFinite)
    }

    /// --adv-real data: D's real state for an adversarial sample is a training image of the sample's label,
    /// noised to its segment's end sigma (the image itself at sigma 0), the same draw at every call; it needs
    /// --adversarial and the images, and a training step with it differs from one against the teacher's states.
    @Test func dataRealStatesAreNoisedImagesOfTheLabel() throws {
        var c = DistillFixtures.tinyConfig(.flowsteer, ota: true, adversarial: true, segments: 2, steps: 2)
        c.advBatchSize = 12
        c.advReal = .data
        #expect(c.needsImages && c.needsBank)
        let images = DistillFixtures.images()
        let bank = DistillFixtures.bank(Self.teacher, segments: 2, rows: 4)
        let data = try DistillData(config: c, teacher: Self.teacher, trajectories: bank, images: images)
        let ap = data.adversarialPairs(step: 2)
        let real = data.realStates(ap, step: 2)
        #expect(real == data.realStates(ap, step: 2))
        #expect(real != data.realStates(ap, step: 3))
        #expect(Set(ap.segments).count == 2, "the batch should hold both segments")
        for i in 0..<ap.count {
            let r = Array(real[(i * 784)..<((i + 1) * 784)])
            let sameLabel = (0..<images.count).filter { images.labels[$0] == ap.labels[i] }
            if ap.segments[i] == 1 {
                // sigma 0: exactly one of the label's images.
                #expect(sameLabel.contains { Array(images.images.data[($0 * 784)..<(($0 + 1) * 784)]) == r })
            } else {
                // sigma_1 of the 2-segment grid: (1 - s) x0 + s eps for one of the label's images and some eps.
                let s = data.grid.end(0)
                #expect(s > 0 && s < 1)
                #expect(sameLabel.contains { j in
                    let x0 = images.images.data[(j * 784)..<((j + 1) * 784)]
                    let eps = zip(r, x0).map { ($0 - (1 - s) * $1) / s }
                    let m = eps.reduce(0, +) / 784, v = eps.map { ($0 - m) * ($0 - m) }.reduce(0, +) / 784
                    return abs(m) < 0.2 && abs(v - 1) < 0.25
                })
            }
        }
        // --adv-probs 0,1: every adversarial sample judges the last segment, the real state is then an image.
        var last = c; last.advProbs = [0, 1]
        let lastData = try DistillData(config: last, teacher: Self.teacher, trajectories: bank, images: images)
        #expect(lastData.adversarialPairs(step: 2).segments == [Int](repeating: 1, count: 12))
        #expect(throws: DistillConfigError.self) {
            _ = try DistillData(config: c, teacher: Self.teacher, trajectories: bank, images: nil)
        }
        var noAdv = c; noAdv.adversarial = false
        #expect(throws: DistillConfigError.self) { try noAdv.validate() }
        // One step against data reals moves D (and through it nothing else yet) differently from teacher reals.
        let withData = DistillTrainer(data: data)
        var tc = c; tc.advReal = nil
        let withTeacher = DistillTrainer(data: try DistillData(config: tc, teacher: Self.teacher, trajectories: bank, images: nil))
        var a = withData.initialState(), b = withTeacher.initialState()
        for _ in 0..<2 { _ = try withData.step(&a); _ = try withTeacher.step(&b) }
        #expect(a.disc != b.disc)
        #expect(a.student == b.student, "the student's first adversarial step reads D's weights before D's update")
    }

    /// Online OTA pairs equal the bank's boundary states for the same noise, label and guidance.
    @Test func onlineTrajectoryMatchesSampler() {
        let grid = SegmentGrid(kind: .fixed, segments: 2, shift: 3, substeps: 2)
        var g = SplitMix64(seed: 1)
        let spec = PairSpec.trajectory(&g, classes: 10, probabilities: [0, 1], cfgLow: 1.5, cfgHigh: 1.5)
        let p = PairGenerator.trajectory([spec], grid: grid, teacher: Self.teacher)
        var sg = SplitMix64(seed: spec.noiseSeed)
        let noise = Tensor(shape: [1, 1, 28, 28], data: sg.normals(784))
        var boundary: [Tensor] = []
        _ = Sampler.sample(Self.teacher, noise: noise, labels: [spec.label], guidance: [1.5], sigmas: grid.teacher.sigmas) { i, x in
            if i % 2 == 0 { boundary.append(x) }
        }
        #expect(maxAbsDifference(p.tensor(p.starts), boundary[1]) < 1e-5)
        #expect(maxAbsDifference(p.tensor(p.ends), boundary[2]) < 1e-5)
        #expect(p.noises == noise.data)
    }
}
