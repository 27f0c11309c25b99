import Testing
import NN
import TensorCore
import TestSupport
@testable import Train

/// Issue 22: a teacher training step and a distillation step give bit-identical weights, EMA and AdamW
/// moments at any `ComputeThreads` count (reductions run over fixed chunks of samples, in chunk order).
@Suite(.serialized) struct ThreadIndependenceTests {
    func atThreads<T>(_ n: Int, _ body: () throws -> T) rethrows -> T {
        let saved = ComputeThreads.count
        defer { ComputeThreads.set(saved) }
        ComputeThreads.set(n)
        return try body()
    }

    /// Every backbone: the tiny UNet and a tiny DiT (28x28, patch 7).
    static let networks: [ModelConfig] = [
        .unet(UNetConfig(channels: [8, 16], embedDim: 32)),
        .dit(DiTConfig(inputSize: 28, patchSize: 7, hiddenSize: 16, depth: 2, numHeads: 2, mlpRatio: 2)),
    ]

    @Test(arguments: networks) func teacherTrainingStepDoesNotDependOnThreads(_ config: ModelConfig) {
        let unet = config.makeNetwork()
        let n = 19   // two full chunks of 8 and a partial one
        let x0 = randomTensor([n, 1, 28, 28], seed: 1), noise = randomTensor([n, 1, 28, 28], seed: 2)
        let sigmas = (0..<n).map { Float($0 + 1) / Float(n + 1) }, labels = (0..<n).map { $0 % 11 }
        func run() -> [Float] {
            var w = unet.initialParameters(seed: 3), opt = AdamW()
            var out: [Float] = []
            for _ in 0..<2 {
                let (loss, norm) = trainStep(unet, weights: &w, optimizer: &opt, lr: 1e-3, clip: 1,
                                             x0: x0, noise: noise, sigmas: sigmas, labels: labels)
                out += [loss, norm]
            }
            // Frozen keys (DiT's pos_embed) have no optimizer state.
            for key in w.keys.sorted() { out += w[key]!.data + (opt.m[key]?.data ?? []) + (opt.v[key]?.data ?? []) }
            return out
        }
        let one = atThreads(1, run)
        for t in [2, 3, 4] { #expect(atThreads(t, run) == one, "\(t) threads") }
    }

    @Test func distillationStepDoesNotDependOnThreads() throws {
        var config = DistillFixtures.tinyConfig(.flowsteer, ota: true, adversarial: true, steps: 2)
        config.batchSize = 11; config.advBatchSize = 9
        let teacher = DistillFixtures.teacher()
        func run() throws -> [Float] {
            let trainer = try DistillFixtures.trainer(config, teacher: teacher)
            var s = trainer.initialState()
            while s.step < config.steps { _ = try trainer.step(&s) }
            var out: [Float] = []
            for d in [s.student, s.ema, s.disc, s.optimizer.m, s.optimizer.v] { for k in d.keys.sorted() { out += d[k]!.data } }
            return out
        }
        let one = try atThreads(1, run)
        for t in [2, 3] { #expect(try atThreads(t, run) == one, "\(t) threads") }
    }

    /// Fixed-group inference for every backbone: a sample's velocity has the same bits in any batch and
    /// at any thread count (DiT with a non-zero output layer, so the check is not trivially 0 = 0).
    @Test(arguments: networks) func inferenceDoesNotDependOnBatchOrThreads(_ config: ModelConfig) throws {
        let net = config.makeNetwork()
        var w = net.initialParameters(seed: 9)
        for (i, (k, t)) in w.items.enumerated() where !net.frozenKeys.contains(k) {
            w[k] = t + randomTensor(t.shape, seed: UInt64(50 + i), scale: 0.05)
        }
        let model = try VelocityModel(config: config, weights: w)
        let n = 13
        let x = randomTensor([n, 1, 28, 28], seed: 4)
        let sigmas = (0..<n).map { Float($0 + 1) / Float(n + 1) }, labels = (0..<n).map { $0 % 11 }
        let guidance = (0..<n).map { $0 % 2 == 0 ? Float(1) : 2 }
        let all = atThreads(1) { model.velocity(x, sigmas: sigmas, labels: labels, guidance: guidance) }
        #expect(all.data.contains { $0 != 0 })
        for t in [2, 3] { #expect(atThreads(t) { model.velocity(x, sigmas: sigmas, labels: labels, guidance: guidance) }.data == all.data) }
        let f = 784
        for i in [0, 5, 12] {
            let one = model.velocity(Tensor(shape: [1, 1, 28, 28], data: Array(x.data[(i * f)..<((i + 1) * f)])),
                                     sigmas: [sigmas[i]], labels: [labels[i]], guidance: [guidance[i]])
            #expect(one.data == Array(all.data[(i * f)..<((i + 1) * f)]), "sample \(i) alone")
        }
    }
}
