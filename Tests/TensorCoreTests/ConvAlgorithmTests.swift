import Testing
import TensorCore
import TestSupport

/// Both conv lowerings (im2col and the stride-1 tap GEMMs) against direct loops, forward and
/// backward, over the shape classes: 3x3 and 5x5 "same", stride 2, 1x1, unpadded, odd sizes,
/// channel counts on both sides of the automatic switch.
@Suite struct ConvAlgorithmTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let n, cin, h, w, cout, k, stride, pad: Int
        var testDescription: String { "n\(n) \(cin)x\(h)x\(w) -> \(cout) k\(k) s\(stride) p\(pad)" }
        var out: (h: Int, w: Int) { ((h + 2 * pad - k) / stride + 1, (w + 2 * pad - k) / stride + 1) }
        /// The tap lowering applies (stride 1, odd k > 1, pad k/2).
        var tapsApply: Bool { stride == 1 && k > 1 && k % 2 == 1 && pad == k / 2 }
        /// Winograd F(m x m, 3 x 3) applies (3x3, stride 1, pad 1).
        var winogradApplies: Bool { k == 3 && stride == 1 && pad == 1 }
        func applies(_ a: ConvAlgorithm) -> Bool {
            switch a {
            case .taps: return tapsApply
            case .winograd2, .winograd4: return winogradApplies
            default: return true
            }
        }
    }

    static let cases: [Case] = [
        Case(n: 3, cin: 3, h: 7, w: 6, cout: 4, k: 3, stride: 1, pad: 1),
        Case(n: 2, cin: 9, h: 15, w: 14, cout: 10, k: 3, stride: 1, pad: 1),   // automatic picks taps
        Case(n: 1, cin: 2, h: 1, w: 1, cout: 3, k: 3, stride: 1, pad: 1),
        Case(n: 2, cin: 3, h: 6, w: 9, cout: 2, k: 5, stride: 1, pad: 2),
        Case(n: 3, cin: 3, h: 7, w: 6, cout: 4, k: 3, stride: 2, pad: 1),
        Case(n: 2, cin: 4, h: 5, w: 7, cout: 3, k: 1, stride: 1, pad: 0),
        Case(n: 2, cin: 3, h: 6, w: 5, cout: 2, k: 3, stride: 1, pad: 0),
        Case(n: 11, cin: 8, h: 9, w: 11, cout: 5, k: 3, stride: 1, pad: 1),   // partial tiles, 2 reduction chunks
        Case(n: 2, cin: 16, h: 7, w: 7, cout: 12, k: 3, stride: 1, pad: 1),
    ]
    static let algorithms: [ConvAlgorithm] = [.automatic, .im2col, .taps, .winograd2, .winograd4]

    func ref(_ c: Case, x: Tensor, w: Tensor, dy: Tensor) -> (out: [Float], dx: [Float], dw: [Float]) {
        let (ho, wo) = c.out
        var out = [Float](repeating: 0, count: c.n * c.cout * ho * wo)
        var dx = [Float](repeating: 0, count: x.count), dw = [Float](repeating: 0, count: w.count)
        for i in 0..<c.n { for o in 0..<c.cout { for y in 0..<ho { for xo in 0..<wo {
            let oi = ((i * c.cout + o) * ho + y) * wo + xo
            for ch in 0..<c.cin { for a in 0..<c.k { for e in 0..<c.k {
                let iy = y * c.stride - c.pad + a, ix = xo * c.stride - c.pad + e
                if iy < 0 || iy >= c.h || ix < 0 || ix >= c.w { continue }
                let xi = ((i * c.cin + ch) * c.h + iy) * c.w + ix, wi = ((o * c.cin + ch) * c.k + a) * c.k + e
                out[oi] += x.data[xi] * w.data[wi]
                dx[xi] += dy.data[oi] * w.data[wi]
                dw[wi] += dy.data[oi] * x.data[xi]
            } } }
        } } } }
        return (out, dx, dw)
    }

    func maxDiff(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count)
        return zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }

    @Test(arguments: cases, algorithms)
    func matchesDirectLoops(c: Case, algorithm: ConvAlgorithm) {
        guard c.applies(algorithm) else { return }
        let x = randomTensor([c.n, c.cin, c.h, c.w], seed: 31), w = randomTensor([c.cout, c.cin, c.k, c.k], seed: 32)
        let b = randomTensor([c.cout], seed: 33)
        let (ho, wo) = c.out
        let dy = randomTensor([c.n, c.cout, ho, wo], seed: 34)
        let r = ref(c, x: x, w: w, dy: dy)
        let y = conv2dForward(x, w, b, stride: c.stride, pad: c.pad, algorithm: algorithm)
        let withBias = r.out.indices.map { r.out[$0] + b.data[($0 / (ho * wo)) % c.cout] }
        #expect(y.shape == [c.n, c.cout, ho, wo])
        // F(4x4,3x3) rounds ~30x more than the direct sum (WinogradTests measures it on the UNet shapes).
        let tol: Float = algorithm == .winograd4 ? 5e-4 : 1e-4
        #expect(maxDiff(y.data, withBias) < tol)
        let g = conv2dBackward(x, w, dy, stride: c.stride, pad: c.pad, needInput: true, needWeight: true,
                               needBias: true, algorithm: algorithm)
        #expect(maxDiff(g.input!.data, r.dx) < tol)
        #expect(maxDiff(g.weight!.data, r.dw) < tol)
        #expect(maxDiff(g.bias!.data, dy.channelSums().data) == 0)
        // Only the weight, or only the input: the same values.
        let onlyW = conv2dBackward(x, w, dy, stride: c.stride, pad: c.pad, needInput: false, needWeight: true,
                                   needBias: false, algorithm: algorithm)
        let onlyX = conv2dBackward(x, w, dy, stride: c.stride, pad: c.pad, needInput: true, needWeight: false,
                                   needBias: false, algorithm: algorithm)
        #expect(onlyW.input == nil && onlyX.weight == nil)
        #expect(onlyW.weight!.data == g.weight!.data && onlyX.input!.data == g.input!.data)
        // Same bits on a rerun.
        #expect(conv2dForward(x, w, b, stride: c.stride, pad: c.pad, algorithm: algorithm).data == y.data)
    }

    /// The fused per-sample bias (ResBlock's time embedding) gives the same bits as a separate
    /// `addSampleChannel` after the conv, forward and backward, on every lowering.
    @Test(arguments: cases, algorithms)
    func sampleBiasMatchesSeparateAdd(c: Case, algorithm: ConvAlgorithm) {
        guard c.applies(algorithm) else { return }
        let x = randomTensor([c.n, c.cin, c.h, c.w], seed: 41), w = randomTensor([c.cout, c.cin, c.k, c.k], seed: 42)
        let b = randomTensor([c.cout], seed: 43), e = randomTensor([c.n, c.cout], seed: 44)
        var separate = conv2dForward(x, w, b, stride: c.stride, pad: c.pad, algorithm: algorithm)
        separate.addSampleChannelInPlace(e)
        let fused = conv2dForward(x, w, b, stride: c.stride, pad: c.pad, sampleBias: e, algorithm: algorithm)
        #expect(fused.data == separate.data)
        guard algorithm == .automatic else { return }
        // Through the tape: the same output and gradients for x, weight, bias and the shift.
        func grads(_ fusedOp: Bool) -> [[Float]] {
            let tape = Tape()
            let (xv, wv, bv, ev) = (tape.variable(x), tape.variable(w), tape.variable(b), tape.variable(e))
            let y = fusedOp ? conv2d(xv, weight: wv, bias: bv, sampleBias: ev, stride: c.stride, padding: c.pad)
                : addSampleChannel(conv2d(xv, weight: wv, bias: bv, stride: c.stride, padding: c.pad), ev)
            let seed = randomTensor(y.shape, seed: 45)
            let gs = tape.backward(y, seed: seed)
            return [y.value.data, gs[xv].data, gs[wv].data, gs[bv].data, gs[ev].data]
        }
        #expect(grads(true) == grads(false))
    }

    /// The fused residual (ResBlock's `skip(x) + conv2(...)`) gives the same bits as a separate `+`
    /// after the conv, alone and with the per-sample shift, forward and backward, on every lowering.
    @Test(arguments: cases, algorithms)
    func residualMatchesSeparateAdd(c: Case, algorithm: ConvAlgorithm) {
        guard c.applies(algorithm) else { return }
        let x = randomTensor([c.n, c.cin, c.h, c.w], seed: 61), w = randomTensor([c.cout, c.cin, c.k, c.k], seed: 62)
        let b = randomTensor([c.cout], seed: 63), e = randomTensor([c.n, c.cout], seed: 64)
        let (ho, wo) = c.out
        let res = randomTensor([c.n, c.cout, ho, wo], seed: 65)
        for shift in [nil, e] {
            let plain = conv2dForward(x, w, b, stride: c.stride, pad: c.pad, sampleBias: shift, algorithm: algorithm)
            let separate = zip(res.data, plain.data).map { $0 + $1 }
            let fused = conv2dForward(x, w, b, stride: c.stride, pad: c.pad, sampleBias: shift, residual: res,
                                      algorithm: algorithm)
            #expect(fused.data == separate)
        }
        guard algorithm == .automatic else { return }
        func grads(_ fusedOp: Bool) -> [[Float]] {
            let tape = Tape()
            let (xv, wv, bv, rv) = (tape.variable(x), tape.variable(w), tape.variable(b), tape.variable(res))
            let y = fusedOp ? conv2d(xv, weight: wv, bias: bv, residual: rv, stride: c.stride, padding: c.pad)
                : rv + conv2d(xv, weight: wv, bias: bv, stride: c.stride, padding: c.pad)
            let seed = randomTensor(y.shape, seed: 66)
            let gs = tape.backward(y, seed: seed)
            return [y.value.data, gs[xv].data, gs[wv].data, gs[bv].data, gs[rv].data]
        }
        #expect(grads(true) == grads(false))
    }

    /// Inside a `parallelChunks` body (one chunk of all images, as in the sampler's row groups) each
    /// image must get the bits it gets alone (no GEMM may mix images: OpenBLAS's bits for a column
    /// depend on its position), and match the direct loops.
    @Test(arguments: [(5, 9, 7, 7, 10), (3, 8, 14, 13, 16), (7, 16, 5, 6, 4)], [ConvAlgorithm.taps, .winograd2, .winograd4])
    func batchedTapImagesMatchOneAtATime(shape: (Int, Int, Int, Int, Int), algorithm: ConvAlgorithm) {
        let (n, cin, h, w, cout) = shape
        let c = Case(n: n, cin: cin, h: h, w: w, cout: cout, k: 3, stride: 1, pad: 1)
        let x = randomTensor([n, cin, h, w], seed: 51), wt = randomTensor([cout, cin, 3, 3], seed: 52)
        let b = randomTensor([cout], seed: 53), e = randomTensor([n, cout], seed: 54)
        var batched: [Tensor] = []
        parallelChunks(1) { _, _ in
            batched = [conv2dForward(x, wt, b, stride: 1, pad: 1, algorithm: algorithm),
                       conv2dForward(x, wt, b, stride: 1, pad: 1, sampleBias: e, algorithm: algorithm)]
        }
        let per = h * w * cout
        for i in 0..<n {
            let xi = Tensor(shape: [1, cin, h, w], data: Array(x.data[(i * cin * h * w)..<((i + 1) * cin * h * w)]))
            let ei = Tensor(shape: [1, cout], data: Array(e.data[(i * cout)..<((i + 1) * cout)]))
            let alone = conv2dForward(xi, wt, b, stride: 1, pad: 1, algorithm: algorithm)
            let aloneE = conv2dForward(xi, wt, b, stride: 1, pad: 1, sampleBias: ei, algorithm: algorithm)
            #expect(Array(batched[0].data[(i * per)..<((i + 1) * per)]) == alone.data)
            #expect(Array(batched[1].data[(i * per)..<((i + 1) * per)]) == aloneE.data)
        }
        let r = ref(c, x: x, w: wt, dy: randomTensor([n, cout, h, w], seed: 55))
        let withBias = r.out.indices.map { r.out[$0] + b.data[($0 / (h * w)) % cout] }
        #expect(maxDiff(batched[0].data, withBias) < (algorithm == .winograd4 ? 5e-4 : 1e-4))
    }

    @Test func nestedParallelChunksRunInline() {
        let saved = ComputeThreads.count
        defer { ComputeThreads.set(saved) }
        ComputeThreads.set(2)
        #expect(parallelChunkCount(10) == 2)
        var inner = [Int](repeating: -1, count: 2)
        inner.withUnsafeMutableBufferPointer { p in
            let pb = UnsafeSendable(p.baseAddress!)
            parallelChunks(2) { chunk, _ in
                var seen = 0
                parallelChunks(10) { c, r in seen += r.count + 100 * c }
                pb.value[chunk] = seen * 10 + parallelChunkCount(10)
            }
        }
        #expect(inner == [101, 101])   // one inline chunk of all 10 items, chunk index 0
        #expect(parallelChunkCount(10) == 2)   // and parallel again outside
    }
}
