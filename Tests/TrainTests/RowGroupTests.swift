import Testing
import NN
import TensorCore
import TestSupport
@testable import Train

/// Issue 23: `VelocityModel` evaluates a partial group (1..7 rows) of a UNet without padding rows, and every
/// sample still has the bits it has inside a full group: each op's per-row arithmetic does not depend on the
/// row count (convolutions and norms are per sample, linear layers run on at least 8 rows). The DiT keeps
/// padded groups (`rowsIndependentOfCount`); the same check holds for it.
@Suite(.serialized) struct RowGroupTests {
    /// The reference UNet's channels (its 28x28 and 14x14 convs run on Winograd F(4x4) / F(2x2)), the tiny
    /// UNet (taps) and a tiny DiT.
    static let networks: [ModelConfig] = [
        .unet(UNetConfig(channels: [32, 64, 64])),
        .unet(UNetConfig(channels: [8, 16], embedDim: 32)),
        .dit(DiTConfig(inputSize: 28, patchSize: 7, hiddenSize: 16, depth: 2, numHeads: 2, mlpRatio: 2)),
    ]

    static func model(_ config: ModelConfig) throws -> VelocityModel {
        let net = config.makeNetwork()
        var w = net.initialParameters(seed: 9)
        for (i, (k, t)) in w.items.enumerated() where !net.frozenKeys.contains(k) {
            w[k] = t + randomTensor(t.shape, seed: UInt64(50 + i), scale: 0.05)
        }
        return try VelocityModel(config: config, weights: w)
    }

    func atThreads<T>(_ n: Int, _ body: () throws -> T) rethrows -> T {
        let saved = ComputeThreads.count
        defer { ComputeThreads.set(saved) }
        ComputeThreads.set(n)
        return try body()
    }

    /// Every sample of a batch of 1, 3, 8 and 13 equals, bit for bit, the same sample in a batch of 16,
    /// at 1 and 2 threads; the batches start at different offsets so a sample changes its row position.
    func checkBatches(_ model: VelocityModel) {
        let n = 16, f = 784
        let x = randomTensor([n, 1, 28, 28], seed: 4)
        let sigmas = (0..<n).map { Float($0 + 1) / Float(n + 1) }, labels = (0..<n).map { $0 % 11 }
        let all = atThreads(1) { model.evaluate(x, sigmas: sigmas, labels: labels) }
        #expect(all.data.contains { $0 != 0 })
        for threads in [1, 2] {
            for (b, start) in [(1, 0), (1, 11), (3, 6), (8, 5), (13, 3)] {
                let rows = start..<(start + b)
                let part = atThreads(threads) {
                    model.evaluate(Tensor(shape: [b, 1, 28, 28], data: Array(x.data[(start * f)..<((start + b) * f)])),
                                   sigmas: Array(sigmas[rows]), labels: Array(labels[rows]))
                }
                #expect(part.data == Array(all.data[(start * f)..<((start + b) * f)]),
                        "batch \(b) from \(start), \(threads) threads")
            }
        }
    }

    @Test(arguments: networks) func partialGroupsMatchFullGroups(_ config: ModelConfig) throws {
        checkBatches(try Self.model(config))
    }

    @Test func theUNetRunsPartialGroupsUnpadded() throws {
        let unet = try Self.model(Self.networks[1]), dit = try Self.model(Self.networks[2])
        #expect(unet.network.rowsIndependentOfCount && !dit.network.rowsIndependentOfCount)
        func sizes(_ m: VelocityModel, _ n: Int) -> [Int] { m.rowGroups(n).ranges.map(\.count) }
        // Real rows only, at most 8 per group, evenly sized, contiguous and covering 0..<n.
        #expect(sizes(unet, 1) == [1] && sizes(unet, 8) == [8] && sizes(unet, 13) == [7, 6])
        #expect(sizes(unet, 64) == [Int](repeating: 8, count: 8) && sizes(unet, 17) == [6, 6, 5])
        #expect(unet.rowGroups(13).rows == nil)
        for n in 1...40 {
            let r = unet.rowGroups(n).ranges
            #expect(r.first?.lowerBound == 0 && r.last?.upperBound == n && r.allSatisfy { $0.count <= 8 && !$0.isEmpty })
            #expect(zip(r, r.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        }
        // The DiT: groups of 8 rows, the last one padded.
        #expect(sizes(dit, 13) == [8, 5] && dit.rowGroups(13).rows == 8 && sizes(dit, 3) == [3])
    }

    /// The same in the bf16 mode, where `gemm` sends products of fewer than 8 rows to fp32: the linear
    /// layers' padding to 8 rows keeps a lone sample on the bf16 kernel, as in a full group.
    @Test(arguments: networks) func partialGroupsMatchFullGroupsInBF16(_ config: ModelConfig) throws {
        guard ComputePrecision.bf16Available else { return }
        let model = try Self.model(config)
        let x = randomTensor([2, 1, 28, 28], seed: 7)
        let fp32 = model.evaluate(x, sigmas: [0.3, 0.6], labels: [1, 2])
        ComputePrecision.with(.bf16) {
            #expect(model.evaluate(x, sigmas: [0.3, 0.6], labels: [1, 2]).data != fp32.data, "bf16 in use")
            checkBatches(model)
        }
    }

    /// `linear` on fewer than 8 rows gives the rows' values of the same product inside 8 rows, and its
    /// gradients are unchanged (finite differences).
    @Test func linearOnFewRowsMatchesEightRows() {
        let w = randomTensor([24, 40], seed: 2), b = randomTensor([24], seed: 3)
        let x8 = randomTensor([8, 40], seed: 1)
        func forward(_ x: Tensor) -> Tensor {
            let tape = Tape(recordsPullbacks: false)
            return linear(tape.constant(x), weight: tape.constant(w), bias: tape.constant(b)).value
        }
        let full = forward(x8)
        for r in [1, 3, 7] {
            let part = forward(Tensor(shape: [r, 40], data: Array(x8.data[0..<(r * 40)])))
            #expect(part.shape == [r, 24])
            #expect(part.data == Array(full.data[0..<(r * 24)]), "\(r) rows")
        }
        let x3 = randomTensor([3, 40], seed: 5)
        #expect(gradCheck([x3, w, b]) { v in linear(v[0], weight: v[1], bias: v[2]) } < 2e-3)
    }
}
