import Foundation
import NN
import TensorCore
import TestSupport
import Testing
@testable import Train

/// The adversarial variants of issue 20 section 4: LADD-style frozen-feature heads with re-noising, the
/// R1 estimate and extra D rounds.
@Suite struct AdversarialCriticTests {
    static let teacher = DistillFixtures.teacher()

    static func config(_ disc: DiscriminatorKind, r1: Float? = nil, dSteps: Int? = nil) -> DistillConfig {
        var c = DistillFixtures.tinyConfig(.flowsteer, adversarial: true, steps: 3)
        (c.disc, c.r1Gamma, c.discSteps) = (disc, r1, dSteps)
        return c
    }

    @Test func frozenHeadsTrainOnlyTheHeads() throws {
        let trainer = try DistillFixtures.trainer(Self.config(.frozenHeads, r1: 1, dSteps: 2), teacher: Self.teacher)
        var state = trainer.initialState()
        #expect(!state.disc.keys.isEmpty && state.disc.keys.allSatisfy { $0.hasPrefix("heads.") })
        #expect(state.disc.keys.contains("heads.2.out.weight"))   // two down blocks + the middle block
        let before = state.disc
        var metrics: [DistillStepMetrics] = []
        while state.step < 3 { metrics.append(try trainer.step(&state)) }
        #expect(metrics[1].lossD.map { $0.isFinite } == true && metrics[1].dAccuracy != nil)
        #expect(state.disc != before)
        // Steps 2 and 3 run the adversarial part with two D rounds each.
        #expect(state.discOptimizer.step == 4)
        #expect(metrics.allSatisfy { $0.total.isFinite })
    }

    @Test(arguments: [DiscriminatorKind.frozenHeads, .encoder])
    func resumeIsBitIdentical(_ kind: DiscriminatorKind) throws {
        let config = Self.config(kind, r1: 2, dSteps: 2)
        let a = try DistillFixtures.trainer(config, teacher: Self.teacher)
        var full = a.initialState()
        while full.step < 3 { try a.step(&full) }
        let b = try DistillFixtures.trainer(config, teacher: Self.teacher)
        var part = b.initialState()
        try b.step(&part); try b.step(&part)
        let c = try DistillFixtures.trainer(config, teacher: Self.teacher)
        try c.step(&part)
        #expect(part == full)
    }

    @Test func defaultsKeepTheEncoderRun() throws {
        // --disc encoder with no R1 and one D step is today's discriminator, bit for bit.
        let plain = DistillFixtures.tinyConfig(.flowsteer, adversarial: true, steps: 3)
        var explicit = plain
        (explicit.disc, explicit.r1Gamma, explicit.discSteps) = (.encoder, 0, 1)
        let a = try DistillFixtures.trainer(plain, teacher: Self.teacher), b = try DistillFixtures.trainer(explicit, teacher: Self.teacher)
        var sa = a.initialState(), sb = b.initialState()
        while sa.step < 3 { try a.step(&sa); try b.step(&sb) }
        #expect(sa == sb)
        #expect(plain.json == DistillFixtures.tinyConfig(.flowsteer, adversarial: true, steps: 3).json && !plain.json.contains("r1"))
    }

    @Test func aRecordedConfigWithoutDiscIsTheEncoderRun() throws {
        // A config stored before `disc` existed (or before frozen-heads became the tools' default) decodes with
        // disc nil; naming its defaults gives the encoder, which is the discriminator such a run trained.
        let legacy = DistillFixtures.tinyConfig(.flowsteer, adversarial: true, steps: 3)
        let stored = try JSONEncoder().encode(legacy)
        #expect(!String(decoding: stored, as: UTF8.self).contains("\"disc\""))
        let named = try JSONDecoder().decode(DistillConfig.self, from: stored).namingRecordedDefaults()
        #expect(named.disc == .encoder)
        var heads = legacy; heads.disc = .frozenHeads
        #expect(heads.namingRecordedDefaults().disc == .frozenHeads)
        #expect(DistillFixtures.tinyConfig(.flowsteer, adversarial: false, steps: 3).namingRecordedDefaults().disc == nil)
        let a = try DistillFixtures.trainer(legacy, teacher: Self.teacher), b = try DistillFixtures.trainer(named, teacher: Self.teacher)
        var sa = a.initialState(), sb = b.initialState()
        try a.step(&sa); try b.step(&sb); try a.step(&sa); try b.step(&sb)
        #expect(sa == sb && sa.disc.keys.contains("head.weight"))
    }

    @Test func renoisingFollowsTheForwardProcess() {
        let a: [Float] = [0, 0.3, 0.75, 0.9]
        let r = Renoise(sigmas: a, seeds: [1, 2, 3, 4], sampleShape: [1, 16, 16])
        for i in a.indices {
            let b = r.sigmas[i]
            #expect(b >= a[i] && b < a[i] + (1 - a[i]) * 0.5 + 1e-6)
            // The image's coefficient goes from 1 - a to 1 - b; the noise variance from a^2 to b^2.
            #expect(abs(r.alpha[i] * (1 - a[i]) - (1 - b)) < 1e-6)
            let row = r.noise.data[(i * 256)..<((i + 1) * 256)]
            let variance = row.map { $0 * $0 }.reduce(0, +) / 256
            let expected = b * b - r.alpha[i] * r.alpha[i] * a[i] * a[i]
            #expect(abs(variance - expected) < 0.25 * expected + 1e-4)
        }
    }

    @Test func r1EstimateMatchesTheGradientNorm() {
        // D(x) = mean of x over its 4 pixels: ||grad_x D||^2 = 4 * (1/4)^2 = 0.25 for every x.
        let n = 4000
        let x = randomTensor([n, 1, 2, 2], seed: 3)
        let tape = Tape()
        let critic = { (v: Var) -> Var in reshape(meanSpatial(v), [n]) }
        let r1 = DistillTrainer.r1Estimate(real: x, logits: critic(tape.constant(x)), seeds: (0..<n).map { UInt64($0) }, critic: critic)
        #expect(abs(r1.value.scalar - 0.25) < 0.025)
    }

    @Test func optionsNeedTheAdversarialPart() {
        var c = DistillFixtures.tinyConfig(.flowsteer)
        c.disc = .frozenHeads
        #expect(throws: DistillConfigError.self) { try c.validate() }
        var d = Self.config(.encoder, dSteps: 0)
        #expect(throws: DistillConfigError.self) { try d.validate() }
        d.discSteps = 2; d.r1Gamma = -1
        #expect(throws: DistillConfigError.self) { try d.validate() }
    }
}
