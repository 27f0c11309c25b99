import Testing
import TensorCore
import TestSupport

/// Issue 22: reductions over the samples of a batch run over fixed chunks in a fixed order, so their
/// bits do not depend on `ComputeThreads.set(n)`.
@Suite(.serialized) struct ReductionChunkTests {
    static let threadCounts = [1, 2, 3, 4, 7]

    /// `body` at every thread count; the results must be bit-identical (and the thread count is restored).
    func sameAtEveryThreadCount<T: Equatable>(_ body: () -> T) -> Bool {
        let saved = ComputeThreads.count
        defer { ComputeThreads.set(saved) }
        var results: [T] = []
        for n in Self.threadCounts {
            ComputeThreads.set(n)
            results.append(body())
        }
        return results.allSatisfy { $0 == results[0] }
    }

    @Test(arguments: [0, 1, 7, 8, 9, 16, 37, 128])
    func chunksAreFixedAndCoverEverything(count: Int) {
        let size = ReductionChunks.samplesPerChunk
        let expected = (0..<ReductionChunks.count(count)).map { c in [c * size, min(count, (c + 1) * size)] }
        #expect(ReductionChunks.count(count) == max(1, (count + size - 1) / size))
        #expect(sameAtEveryThreadCount { () -> [[Int]] in
            var seen = [[Int]](repeating: [], count: ReductionChunks.count(count))
            seen.withUnsafeMutableBufferPointer { p in
                let pb = UnsafeSendable(p.baseAddress!)
                parallelReductionChunks(count) { c, r in pb.value[c] = [r.lowerBound, r.upperBound] }
            }
            return count == 0 ? [] : seen
        })
        if count > 0 {
            var seen = [[Int]](repeating: [], count: ReductionChunks.count(count))
            seen.withUnsafeMutableBufferPointer { p in
                let pb = UnsafeSendable(p.baseAddress!)
                parallelReductionChunks(count) { c, r in pb.value[c] = [r.lowerBound, r.upperBound] }
            }
            #expect(seen == expected)
        }
    }

    /// `sumPartials` adds the chunks left to right, element by element, small and large (parallel) alike.
    @Test(arguments: [(1, 5), (3, 10), (16, 70_000), (5, 100_003)])
    func sumPartialsIsTheOrderedSum(shape: (Int, Int)) {
        let (chunks, stride) = shape
        let p = randomTensor([chunks * stride], seed: 7, scale: 1000).data
        var want = [Float](repeating: 0, count: stride)
        for i in 0..<stride { var s = p[i]; for c in 1..<max(1, chunks) { s += p[c * stride + i] }; want[i] = s }
        #expect(sameAtEveryThreadCount { () -> [Float] in
            var out = [Float](repeating: .nan, count: stride)
            p.withUnsafeBufferPointer { pp in
                out.withUnsafeMutableBufferPointer { sumPartials(pp.baseAddress!, chunks: chunks, stride: stride, into: $0.baseAddress!) }
            }
            return out
        })
        var out = [Float](repeating: .nan, count: stride)
        p.withUnsafeBufferPointer { pp in
            out.withUnsafeMutableBufferPointer { sumPartials(pp.baseAddress!, chunks: chunks, stride: stride, into: $0.baseAddress!) }
        }
        #expect(out == want)
    }

    /// Conv gradients (dx, dW, db) of both lowerings, batch sizes on both sides of a chunk boundary.
    @Test(arguments: [(19, ConvAlgorithm.taps, 3, 1), (19, .im2col, 3, 1), (8, .taps, 3, 1), (13, .im2col, 3, 2),
                      (11, .im2col, 1, 1), (30, .automatic, 3, 1)])
    func convGradientsDoNotDependOnThreads(c: (Int, ConvAlgorithm, Int, Int)) {
        let (n, algorithm, k, stride) = c
        let pad = k / 2
        let x = randomTensor([n, 9, 10, 11], seed: 1), w = randomTensor([12, 9, k, k], seed: 2)
        let ho = (10 + 2 * pad - k) / stride + 1, wo = (11 + 2 * pad - k) / stride + 1
        let dy = randomTensor([n, 12, ho, wo], seed: 3, scale: 100)
        #expect(sameAtEveryThreadCount { () -> [[Float]] in
            let r = conv2dBackward(x, w, dy, stride: stride, pad: pad, needInput: true, needWeight: true, needBias: true,
                                   algorithm: algorithm)
            return [r.input!.data, r.weight!.data, r.bias!.data]
        })
    }

    /// The check above is sensitive: with the per-thread opt-out the same dW differs between 1 and 3 threads.
    @Test func perThreadOrderDependsOnThreads() {
        let saved = (ComputeThreads.count, ReductionChunks.perThread)
        defer { ComputeThreads.set(saved.0); ReductionChunks.perThread = saved.1 }
        ReductionChunks.perThread = true
        let x = randomTensor([19, 9, 10, 11], seed: 1), w = randomTensor([12, 9, 3, 3], seed: 2)
        let dy = randomTensor([19, 12, 10, 11], seed: 3, scale: 100)
        func dw(_ n: Int) -> [Float] {
            ComputeThreads.set(n)
            return conv2dBackward(x, w, dy, stride: 1, pad: 1, needInput: false, needWeight: true, needBias: false,
                                  algorithm: .taps).weight!.data
        }
        #expect(dw(1) != dw(3))
    }

    @Test(arguments: [[37, 6], [37, 5, 4, 3], [1, 3, 2, 2], [128, 16, 7, 7]])
    func channelSumsDoNotDependOnThreads(shape: [Int]) {
        let x = randomTensor(shape, seed: 4, scale: 50)
        #expect(sameAtEveryThreadCount { x.channelSums().data })
        // The sum is the per-sample row sums added in sample order (in Double).
        let (n, c) = (shape[0], shape[1]), hw = x.count / (n * c)
        let rows = x.spatialSums().data
        var want = [Double](repeating: 0, count: c)
        for i in 0..<n { for j in 0..<c { want[j] += Double(rows[i * c + j]) } }
        #expect(x.channelSums().data == want.map { Float($0) })
        #expect(hw * n * c == x.count)
    }

    @Test(arguments: [false, true])
    func groupNormGradientsDoNotDependOnThreads(silu: Bool) {
        let x = randomTensor([21, 8, 6, 5], seed: 5), dy = randomTensor([21, 8, 6, 5], seed: 6)
        let gamma = randomTensor([8], seed: 7), beta = randomTensor([8], seed: 8)
        #expect(sameAtEveryThreadCount { () -> [[Float]] in
            let (y, saved) = groupNormForward(x, groups: 4, weight: gamma, bias: beta, eps: 1e-5, silu: silu)
            let r = groupNormBackward(x, dy, groups: 4, weight: gamma, bias: beta, silu: silu, saved: saved)
            return [y.data, r.input.data, r.weight.data, r.bias.data]
        })
    }

    /// A small conv net's parameter gradients through the tape (conv, bias, GroupNorm+SiLU, mean loss).
    @Test func tapeGradientsDoNotDependOnThreads() {
        let x = randomTensor([27, 3, 9, 9], seed: 9)
        let w1 = randomTensor([16, 3, 3, 3], seed: 10, scale: 0.3), b1 = randomTensor([16], seed: 11)
        let w2 = randomTensor([8, 16, 3, 3], seed: 12, scale: 0.1), b2 = randomTensor([8], seed: 13)
        let g = randomTensor([16], seed: 14), be = randomTensor([16], seed: 15)
        let target = randomTensor([27, 8, 9, 9], seed: 16)
        #expect(sameAtEveryThreadCount { () -> [[Float]] in
            let tape = Tape()
            let vs = [w1, b1, w2, b2, g, be].map { tape.variable($0) }
            var h = conv2d(tape.constant(x), weight: vs[0], bias: vs[1], stride: 1, padding: 1)
            h = groupNorm(h, groups: 4, weight: vs[4], bias: vs[5], silu: true)
            let y = conv2d(h, weight: vs[2], bias: vs[3], stride: 1, padding: 1)
            let loss = meanSquaredError(y, target: target)
            let grads = tape.backward(loss)
            return [loss.value.data] + vs.map { grads[$0].data }
        })
    }

    /// The opt-out goes back to one partial per thread (and its chunk count follows the threads).
    @Test func perThreadOptOut() {
        let saved = (ComputeThreads.count, ReductionChunks.perThread)
        defer { ComputeThreads.set(saved.0); ReductionChunks.perThread = saved.1 }
        ComputeThreads.set(3)
        ReductionChunks.perThread = true
        #expect(ReductionChunks.count(128) == 3)
        ReductionChunks.perThread = false
        #expect(ReductionChunks.count(128) == 16)
        ReductionChunks.applyEnvironment(["FS_PER_THREAD_REDUCTIONS": "1"])
        #expect(ReductionChunks.perThread)
        ReductionChunks.applyEnvironment(["FS_PER_THREAD_REDUCTIONS": "0"])
        #expect(!ReductionChunks.perThread)
    }
}
