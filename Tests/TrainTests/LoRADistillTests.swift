import NN
import TensorCore
import TestSupport
import Testing
@testable import Train

/// LoRA students in the distillation trainer: the state is the adapters alone, step 0 is the teacher,
/// the adapters train (with the adversarial part and the student's own rollouts too) and the teacher stays put.
@Suite struct LoRADistillTests {
    static func trainer(adversarial: Bool) throws -> DistillTrainer {
        var c = DistillFixtures.tinyConfig(.flowsteer, ota: true, adversarial: adversarial, fake: adversarial ? .rollout : .step)
        c.lora = LoRAConfig(rank: 2, alpha: 4, targets: LoRAConfig.unetTargets)
        return try DistillFixtures.trainer(c, teacher: DistillFixtures.teacher())
    }

    /// The plain network with `weights` at sigmas 0.8, 0.3.
    static func forward(_ t: DistillTrainer, _ x: Tensor, labels: [Int], weights: StateDict) -> Tensor {
        let tape = Tape(recordsPullbacks: false)
        return t.network(tape.constant(x), sigmas: [0.8, 0.3], labels: labels, tape.bind(weights, trainable: false)).value
    }

    @Test func stepZeroIsTheTeacher() throws {
        let t = try Self.trainer(adversarial: false)
        let s = t.initialState()
        let lora = try #require(t.lora)
        #expect(s.student.keys == lora.parameterSpecs.map(\.key) && s.ema == s.student)
        #expect(s.student.keys.allSatisfy { $0.hasSuffix(".lora_A.weight") || $0.hasSuffix(".lora_B.weight") })
        let x = randomTensor([2, 1, 28, 28], seed: 4)
        let student = t.studentVelocity(s.student, x, sigmas: [0.8, 0.3], labels: [1, 10])
        let teacher = Self.forward(t, x, labels: [1, 10], weights: t.teacherWeights)
        #expect(student.data == teacher.data)
    }

    @Test(arguments: [false, true])
    func onlyTheAdaptersTrain(adversarial: Bool) throws {
        let t = try Self.trainer(adversarial: adversarial)
        var s = t.initialState()
        let teacher = t.teacherWeights
        for _ in 0..<3 { try t.step(&s) }
        #expect(t.teacherWeights == teacher)
        let lora = try #require(t.lora)
        let b = s.student.keys.filter { $0.hasSuffix(".lora_B.weight") }
        #expect(b.count == lora.modules.count)
        #expect(b.contains { s.student.tensor($0).data.contains { $0 != 0 } }, "no B moved off zero")
        #expect(s.optimizer.m.keys.sorted() == s.student.keys.sorted())
        // The student now differs from the teacher, and exactly as its merged weights say.
        let x = randomTensor([2, 1, 28, 28], seed: 4)
        let student = t.studentVelocity(s.student, x, sigmas: [0.8, 0.3], labels: [1, 2])
        let merged = Self.forward(t, x, labels: [1, 2], weights: lora.merged(base: teacher, adapters: s.student))
        #expect(student.data == merged.data)
        #expect(student != Self.forward(t, x, labels: [1, 2], weights: teacher))
    }
}
