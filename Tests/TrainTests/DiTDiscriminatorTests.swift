import Testing
import NN
import TensorCore
import TestSupport
@testable import Train

/// The discriminator built from a DiT teacher's first N blocks (issue 21 section 3), and a FlowSteer
/// step with it: keys, initial weights, frozen pos_embed, option checks.
@Suite struct DiTDiscriminatorTests {
    static let config = DiTConfig(inputSize: 28, patchSize: 7, hiddenSize: 16, depth: 3, numHeads: 2, mlpRatio: 2)

    static func teacher() -> VelocityModel {
        let net = DiT(config)
        var w = net.initialParameters(seed: 2)
        for (i, (k, t)) in w.items.enumerated() where k != "pos_embed" {
            w[k] = t + randomTensor(t.shape, seed: UInt64(30 + i), scale: 0.05)
        }
        return try! VelocityModel(config: .dit(config), weights: w)
    }

    @Test func keysAreTheFirstBlocksAndAHead() {
        let d = Discriminator(DiT(Self.config), blocks: 2)
        let keys = d.parameterShapes.map(\.key)
        #expect(keys.contains("blocks.1.attn.qkv.weight") && !keys.contains { $0.hasPrefix("blocks.2.") })
        #expect(!keys.contains { $0.hasPrefix("final_layer.") } && keys.contains("pos_embed"))
        #expect(Array(keys.suffix(2)) == ["head.weight", "head.bias"])
        #expect(d.parameterShapes.last(where: { $0.key == "head.weight" })!.shape == [1, 16])
        let t = Self.teacher()
        let w = d.initialWeights(teacher: t.weights, seed: 1)
        #expect(w["blocks.0.mlp.fc1.weight"] == t.weights["blocks.0.mlp.fc1.weight"])
        let tape = Tape(recordsPullbacks: false)
        let out = d(tape.constant(randomTensor([4, 1, 28, 28], seed: 3)), sigmas: [0.2, 0.4, 0.6, 0.8], labels: [0, 1, 2, 10],
                    tape.bind(w, trainable: false))
        #expect(out.logits.shape == [4] && out.features.count == 2 && out.features[1].shape == [4, 16, 16])
    }

    @Test func flowsteerAdversarialStepTrainsStudentAndDiscriminatorButNotPosEmbed() throws {
        var c = DistillFixtures.tinyConfig(.flowsteer, ota: true, adversarial: true, steps: 2)
        c.discBlocks = 1
        c.weightDecay = 0.1   // would shrink pos_embed if the trainer did not skip it
        let teacher = Self.teacher()
        let tr = try DistillFixtures.trainer(c, teacher: teacher)
        var s = tr.initialState()
        while s.step < c.steps { _ = try tr.step(&s) }
        #expect(s.student["pos_embed"] == teacher.weights["pos_embed"] && s.disc["pos_embed"] == teacher.weights["pos_embed"])
        #expect(s.student["blocks.0.attn.qkv.weight"] != teacher.weights["blocks.0.attn.qkv.weight"])
        #expect(!s.disc.keys.contains { $0.hasPrefix("blocks.1.") })
        #expect(s.disc["head.weight"] != tr.initialState().disc["head.weight"])
    }

    @Test func discBlocksIsCheckedAgainstTheTeacher() {
        var c = DistillFixtures.tinyConfig(.flowsteer, ota: true, adversarial: true)
        c.discBlocks = 4
        #expect(throws: DistillConfigError.self) { try DistillFixtures.trainer(c, teacher: Self.teacher()) }
        c.discBlocks = 1
        #expect(throws: DistillConfigError.self) { try DistillFixtures.trainer(c, teacher: DistillFixtures.teacher()) }
    }

    /// --disc frozen-heads on a DiT teacher: token heads on the frozen teacher's first blocks.
    @Test func frozenHeadsReadTheFrozenBlocksTokens() throws {
        let t = Self.teacher()
        let d = FrozenFeatureDiscriminator(t.network, blocks: 2, teacher: t.weights)
        #expect(d.heads.map(\.layout) == [.tokens(width: 16), .tokens(width: 16)])
        let w = d.initialWeights(teacher: t.weights, seed: 1)
        #expect(Set(w.keys) == Set((0..<2).flatMap { l in ["fc", "out"].flatMap { ["heads.\(l).\($0).weight", "heads.\(l).\($0).bias"] } }))
        #expect(w["heads.1.out.weight"]?.shape == [1, 16])
        let tape = Tape(recordsPullbacks: false)
        let out = d(tape.constant(randomTensor([4, 1, 28, 28], seed: 3)), sigmas: [0.2, 0.4, 0.6, 0.8], labels: [0, 1, 2, 10],
                    tape.bind(w, trainable: false))
        #expect(out.logits.shape == [4] && out.features.count == 2 && out.features[1].shape == [4, 16, 16])
        // The token head's gradients (its weights and the features) against finite differences.
        let head = d.heads[0], keys = w.keys.filter { $0.hasPrefix("heads.0.") }
        let err = gradCheck([randomTensor([3, 5, 16], seed: 4)] + keys.map { w[$0]! }, probes: 12) { v in
            head(v[0], Parameters(vars: Dictionary(uniqueKeysWithValues: zip(keys, v.dropFirst())), keys: keys))
        }
        #expect(err < 2e-3, "token head: worst relative error \(err)")
    }

    @Test func flowsteerWithFrozenHeadsTrainsOnlyTheHeads() throws {
        var c = DistillFixtures.tinyConfig(.flowsteer, ota: true, adversarial: true, steps: 2)
        (c.disc, c.discBlocks) = (.frozenHeads, 1)
        let teacher = Self.teacher()
        let tr = try DistillFixtures.trainer(c, teacher: teacher)
        var s = tr.initialState()
        let before = s.disc
        #expect(Set(s.disc.keys) == ["heads.0.fc.weight", "heads.0.fc.bias", "heads.0.out.weight", "heads.0.out.bias"])
        while s.step < c.steps { _ = try tr.step(&s) }
        #expect(s.disc["heads.0.fc.weight"] != before["heads.0.fc.weight"])
        #expect(s.student["blocks.0.attn.qkv.weight"] != teacher.weights["blocks.0.attn.qkv.weight"])
    }
}
