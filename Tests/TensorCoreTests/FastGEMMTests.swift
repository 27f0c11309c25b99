import CGEMM
import Foundation
import Testing
@testable import TensorCore
import TestSupport

/// The package's fp32 GEMM (`CGEMM`, session 15): against a double-precision product on edge shapes and
/// strides, bits independent of how rows, columns and (for gᵀ x) the reduction rows are split, the layers on
/// it against OpenBLAS, their gradients by finite differences, and the `FS_GEMM` switch.
@Suite(.serialized, .enabled(if: FastGEMM.available, "needs AVX-512F, or AVX2 and FMA"))
struct FastGEMMTests {
    /// op(A) op(B) in Double, and sum |a b| per element (the scale of fp32 rounding).
    static func reference(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ a: [Float], lda: Int, _ b: [Float], ldb: Int)
        -> (value: [Double], scale: [Double]) {
        var out = [Double](repeating: 0, count: m * n), scale = out
        for i in 0..<m { for j in 0..<n {
            var s = 0.0, t = 0.0
            for q in 0..<k {
                let p = Double(ta ? a[q * lda + i] : a[i * lda + q]) * Double(tb ? b[j * ldb + q] : b[q * ldb + j])
                s += p; t += abs(p)
            }
            out[i * n + j] = s; scale[i * n + j] = t
        } }
        return (out, scale)
    }

    static func run(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, alpha: Float = 1, _ a: [Float], lda: Int,
                    _ b: [Float], ldb: Int, ldc: Int? = nil) -> [Float] {
        let ldc = ldc ?? n
        var c = [Float](repeating: .nan, count: max(1, (m - 1) * ldc + n))
        c.withUnsafeMutableBufferPointer { cp in
            FastGEMM.multiply(transA: ta, transB: tb, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                              c: cp.baseAddress!, ldc: ldc)
        }
        return c
    }

    /// Shapes off the 12 x 32 tile (1, 13, 17, 33 ...), k past the 128-row blocks of gᵀ x, leading dimensions
    /// larger than the rows (lda != k), all three forms: within 1e-6 of sum |a b| of the exact product
    /// (fp32 chains of up to 777 terms; measured <= 2e-7).
    @Test func matchesDoubleProduct() {
        for (s, (m, n, k)) in [(1, 1, 1), (13, 33, 17), (25, 70, 200), (12, 32, 768), (40, 196, 64), (37, 16, 777)].enumerated() {
            for (ta, tb) in [(false, false), (false, true), (true, false)] {
                let (ra, ca) = ta ? (k, m) : (m, k), (rb, cb) = tb ? (n, k) : (k, n)
                let (lda, ldb) = (ca + 3, cb + 5)
                let a = randomTensor([ra * lda], seed: UInt64(10 * s + 1)).data, b = randomTensor([rb * ldb], seed: UInt64(10 * s + 2)).data
                let got = Self.run(ta, tb, m, n, k, a, lda: lda, b, ldb: ldb, ldc: n + 2)
                let ref = Self.reference(ta, tb, m, n, k, a, lda: lda, b, ldb: ldb)
                var worst = 0.0
                for i in 0..<m { for j in 0..<n {
                    worst = max(worst, abs(Double(got[i * (n + 2) + j]) - ref.value[i * n + j]) / max(ref.scale[i * n + j], 1e-30))
                } }
                #expect(worst < 1e-6, "m \(m) n \(n) k \(k) ta \(ta) tb \(tb): \(worst)")
                // The padding columns of C are not written.
                if n + 2 <= got.count, m > 1 { #expect(got[n].isNaN && got[n + 1].isNaN) }
            }
        }
        // alpha scales the finished product, in both forms.
        let a = randomTensor([30 * 40], seed: 7).data, b = randomTensor([40 * 20], seed: 8).data
        for ta in [false, true] {
            let one = Self.run(ta, false, 30, 20, 40, a, lda: ta ? 30 : 40, b, ldb: 20)
            let half = Self.run(ta, false, 30, 20, 40, alpha: 0.5, a, lda: ta ? 30 : 40, b, ldb: 20)
            #expect(zip(one, half).allSatisfy { $0 * 0.5 == $1 })
        }
    }

    /// The contract that makes bits the same on every CPU: each C[i][j] is one fused multiply-add chain over
    /// p = 0..<k from 0, then times alpha, exactly as a scalar `addingProduct` loop computes it. The AVX-512
    /// kernels and the AVX2 + FMA kernels (CPUs without AVX-512F) must both match it bit for bit.
    @Test func bitsEqualAScalarFusedChain() {
        for (s, (m, n, k)) in [(1, 1, 1), (13, 33, 17), (5, 70, 200), (4, 40, 300), (25, 8, 129), (100, 21, 131)].enumerated() {
            for (ta, tb) in [(false, false), (false, true), (true, false)] {
                let (ra, ca) = ta ? (k, m) : (m, k), (rb, cb) = tb ? (n, k) : (k, n)
                let (lda, ldb) = (ca + 1, cb + 2)
                let a = randomTensor([ra * lda], seed: UInt64(20 * s + 1)).data, b = randomTensor([rb * ldb], seed: UInt64(20 * s + 2)).data
                let alpha: Float = ta ? 1 : 0.75
                let got = Self.run(ta, tb, m, n, k, alpha: alpha, a, lda: lda, b, ldb: ldb)
                var mismatches = 0
                for i in 0..<m { for j in 0..<n {
                    var acc: Float = 0
                    for q in 0..<k { acc = acc.addingProduct(ta ? a[q * lda + i] : a[i * lda + q], tb ? b[j * ldb + q] : b[q * ldb + j]) }
                    if alpha != 1 { acc = acc * alpha }
                    if acc.bitPattern != got[i * n + j].bitPattern { mismatches += 1 }
                } }
                #expect(mismatches == 0, "m \(m) n \(n) k \(k) ta \(ta) tb \(tb): \(mismatches) of \(m * n) differ")
            }
        }
    }

    /// Any block of rows or columns alone gives the same bits as inside the whole product, so the layers'
    /// results do not depend on their row blocks or the thread count.
    @Test func bitsIndependentOfSplit() {
        let (m, n, k) = (45, 77, 300)
        let a = randomTensor([m * k], seed: 51).data, b = randomTensor([k * n], seed: 52).data, bt = randomTensor([n * k], seed: 53).data
        for tb in [false, true] {
            let whole = Self.run(false, tb, m, n, k, a, lda: k, tb ? bt : b, ldb: tb ? k : n)
            for rows in [0..<1, 3..<17, 20..<45] {
                let part = Self.run(false, tb, rows.count, n, k, Array(a[(rows.lowerBound * k)...]), lda: k, tb ? bt : b, ldb: tb ? k : n)
                #expect(part == Array(whole[(rows.lowerBound * n)..<(rows.upperBound * n)]))
            }
            // Columns 40..<77 alone (the tile's column position moves).
            let cols = tb ? Array(bt[(40 * k)...]) : Array(b[40...])
            let part = Self.run(false, tb, m, 37, k, a, lda: k, cols, ldb: tb ? k : n)
            for i in 0..<m { #expect(Array(part[(i * 37)..<(i * 37 + 37)]) == Array(whole[(i * n + 40)..<(i * n + 77)])) }
        }
        // gᵀ x: output rows (features) in blocks give the same bits as one call.
        let g = randomTensor([k * m], seed: 54).data
        let whole = Self.run(true, false, m, n, k, g, lda: m, b, ldb: n)
        let part = Self.run(true, false, 19, n, k, Array(g[7...]), lda: m, b, ldb: n)
        #expect(part == Array(whole[(7 * n)..<(26 * n)]))
    }

    /// The linear and attention ops on the kernels against OpenBLAS (FS_GEMM=openblas): values and all
    /// gradients within fp32 rounding; then one and two threads give the same bits.
    @Test func layersMatchOpenBLASAndThreads() {
        let x = randomTensor([5, 49, 64], seed: 60), w = randomTensor([96, 64], seed: 61), b = randomTensor([96], seed: 62)
        let w2 = randomTensor([32, 96], seed: 63), r = randomTensor([5, 49, 32], seed: 64)
        func run() -> [Tensor] {
            let tape = Tape()
            let (xv, wv, bv, w2v) = (tape.variable(x), tape.variable(w), tape.variable(b), tape.variable(w2))
            let h = linearRowsGELU(xv, weight: wv, bias: bv)                      // [5, 49, 96] = packed qkv of 2 heads
            let att = multiHeadAttention(h, heads: 2)                             // [5, 49, 32]
            let y = linearRows(linearRows(att, weight: tape.variable(randomTensor([96, 32], seed: 65)), bias: nil), weight: w2v, bias: nil)
            let loss = mean(y * tape.constant(r)) + meanSquaredError(att, target: Tensor(zeros: att.shape))
            let g = tape.backward(loss)
            return [y.value, g[xv], g[wv], g[bv], g[w2v]]
        }
        let (before, threads) = (FastGEMM.enabled, ComputeThreads.count)
        defer { FastGEMM.enabled = before; ComputeThreads.set(threads) }
        ComputeThreads.set(1)
        FastGEMM.enabled = false; let blas = run()
        FastGEMM.enabled = true; let fast1 = run()
        ComputeThreads.set(2); let fast2 = run()
        for (f, o) in zip(fast1, blas) {
            let scale = max(1e-3, o.data.map(abs).max()!)
            #expect(maxAbsDifference(f, o) <= 2e-5 * scale, "\(maxAbsDifference(f, o)) vs \(scale)")
        }
        for (a, c) in zip(fast1, fast2) { #expect(a.data == c.data) }
    }

    /// Session 16: at more than one thread the last row blocks of the linear layers are handed out in pieces
    /// of a few samples (the join's tail), their bias sums as items of their own. The pieces cover every
    /// sample once, in order, and the forward and every gradient keep the one-thread bits (whole blocks).
    @Test func splitTailKeepsBits() {
        let blocks = SampleBlocks(samples: 16, rowsPer: 130)
        let items = LinearRowItems(blocks, rowsPer: 130, fast: true, threads: 2)
        #expect(blocks.count == 2 && items.whole == 1 && items.count == 1 + 8 && items.splitBlocks == 1..<2)
        #expect((0..<items.count).flatMap { Array(items.samples($0)) } == Array(0..<16))
        let few = LinearRowItems(SampleBlocks(samples: 80, rowsPer: 50), rowsPer: 50, fast: true, threads: 3)
        #expect(few.whole == 1 && few.piece == 3 && (0..<few.count).flatMap { Array(few.samples($0)) } == Array(0..<80))
        #expect(LinearRowItems(blocks, rowsPer: 130, fast: false, threads: 2).count == blocks.count)
        #expect(LinearRowItems(blocks, rowsPer: 130, fast: true, threads: 1).count == blocks.count)
        // Session 24: a layer of one block (a DiT chunk, 16 samples of 49 tokens) is split whole.
        let one = LinearRowItems(SampleBlocks(samples: 16, rowsPer: 49), rowsPer: 49, fast: true, threads: 2)
        #expect(one.blocks.count == 1 && one.whole == 0 && one.splitBlocks == 0..<1 && one.count == 6)
        #expect((0..<one.count).flatMap { Array(one.samples($0)) } == Array(0..<16))
        #expect(LinearRowItems(SampleBlocks(samples: 16, rowsPer: 49), rowsPer: 49, fast: true, threads: 1).count == 1)

        for t in [130, 49] { splitKeepsBits(tokens: t) }
    }

    /// The forward and every gradient of linear layers (plain, GELU MLP, gated residuals) at 2 and 3 threads
    /// equal the one-thread bits, for 16 samples of `tokens` rows each.
    func splitKeepsBits(tokens t: Int) {
        let (n, d, f) = (16, 24, 40)
        let x = randomTensor([n, t, d], seed: 90), w1 = randomTensor([f, d], seed: 91), b1 = randomTensor([f], seed: 92)
        let w2 = randomTensor([d, f], seed: 93), b2 = randomTensor([d], seed: 94), gate = randomTensor([n, d], seed: 95)
        let seed = randomTensor([n, t, d], seed: 96)
        func run() -> [Tensor] {
            let tape = Tape()
            let v = [x, w1, b1, w2, b2, gate].map { tape.variable($0) }
            let h = linearRows(v[0], weight: v[1], bias: v[2])                                        // [n, t, f]
            let m = mlpGatedResidual(v[0], fc1: (v[1], v[2]), fc2: (v[3], v[4]), residual: v[0], gate: v[5])
            let y = linearRowsGatedResidual(h, weight: v[3], bias: v[4], residual: m, gate: v[5])
            let g = tape.backward(y, seed: seed)
            return [y.value] + v.map { g[$0] }
        }
        let (before, threads) = (FastGEMM.enabled, ComputeThreads.count)
        defer { FastGEMM.enabled = before; ComputeThreads.set(threads) }
        FastGEMM.enabled = true
        ComputeThreads.set(1); let one = run()
        for k in [2, 3] {
            ComputeThreads.set(k)
            for (a, c) in zip(one, run()) { #expect(a.data == c.data, "\(k) threads, \(t) tokens") }
        }
    }

    /// Session 16: GELU and its pullback on AVX-512 (`cgelu_*`) give the 8-lane Swift kernels' bits on every
    /// input, including tails of any length, the exp clamp's edges, signed zeros, infinities and NaN.
    @Test(.enabled(if: cgemm_avx512() != 0, "the AVX-512 row passes; other CPUs run the Swift rows")) func geluKernelsKeepSwiftBits() {
        var x = randomTensor([10_007], seed: 97, scale: 4).data
        x += [0, -0.0, 1e-30, -1e-30, 30, -30, 44, -44, 87.3, -87.3, 200, -200, .infinity, -.infinity, .nan, .greatestFiniteMagnitude]
        let g = randomTensor([x.count], seed: 98).data
        for count in [x.count, 1, 15, 17, 33, 47] {
            var (c, swift, dc, dswift) = ([Float](repeating: 1, count: count), [Float](repeating: 2, count: count),
                                          [Float](repeating: 3, count: count), [Float](repeating: 4, count: count))
            x.withUnsafeBufferPointer { xp in g.withUnsafeBufferPointer { gp in
                let lo = x.count - count   // the special values sit at the end
                geluRange(xp.baseAddress! + lo, &c, 0..<count)
                geluRange8(xp.baseAddress! + lo, &swift, 0..<count)
                geluBackwardRange(xp.baseAddress! + lo, gp.baseAddress! + lo, &dc, 0..<count)
                geluBackwardRange8(xp.baseAddress! + lo, gp.baseAddress! + lo, &dswift, 0..<count)
            }}
            #expect(zip(c, swift).allSatisfy { $0.bitPattern == $1.bitPattern }, "gelu, \(count) values")
            #expect(zip(dc, dswift).allSatisfy { $0.bitPattern == $1.bitPattern }, "gelu', \(count) values")
        }
    }

    /// Session 16: attention's exp rows on AVX-512 (`cexp_row`) give `expRow8`'s exps, max and sum bit for bit,
    /// at row lengths around the 8- and 16-lane chunks and the DiT's 196.
    @Test(.enabled(if: cgemm_avx512() != 0, "the AVX-512 row passes; other CPUs run the Swift rows")) func expRowKeepsSwiftBits() {
        for (i, n) in [1, 7, 8, 9, 15, 16, 17, 24, 31, 33, 196, 257].enumerated() {
            let row = randomTensor([n], seed: UInt64(100 + i), scale: 6).data
            var (c, swift) = (row, row)
            let (mc, sc) = expRow(&c, n), (ms, ss) = expRow8(&swift, n)
            #expect(mc.bitPattern == ms.bitPattern && sc.bitPattern == ss.bitPattern, "row of \(n)")
            #expect(zip(c, swift).allSatisfy { $0.bitPattern == $1.bitPattern }, "row of \(n)")
        }
    }

    /// Session 17: the LayerNorm-modulate rows on AVX-512 (clayernorm.c) give the 8-lane Swift rows' bits: output,
    /// x̂ and 1/std forward; dx, d shift and d scale backward; at widths around the 8- and 16-lane chunks and 192.
    @Test(.enabled(if: cgemm_avx512() != 0, "the AVX-512 row passes; other CPUs run the Swift rows")) func layerNormModulateRowsKeepSwiftBits() {
        for (i, d) in [1, 5, 8, 9, 12, 15, 16, 17, 20, 24, 31, 33, 192, 200].enumerated() {
            let x = randomTensor([d], seed: UInt64(300 + i), scale: 3).data.map { $0 + 0.5 }
            let (sc, sh, g) = (randomTensor([d], seed: UInt64(400 + i)).data, randomTensor([d], seed: UInt64(500 + i)).data,
                               randomTensor([d], seed: UInt64(600 + i)).data)
            var (oc, os, yc, ys) = ([Float](repeating: 1, count: d), [Float](repeating: 2, count: d),
                                    [Float](repeating: 3, count: d), [Float](repeating: 4, count: d))
            let rc = layerNormModulateRow(x, &yc, &oc, d, eps: 1e-6, scale: sc, shift: sh)
            let rs = layerNormModulateRow8(x, &ys, &os, d, eps: 1e-6, scale: sc, shift: sh)
            #expect(rc.bitPattern == rs.bitPattern, "1/std, width \(d)")
            #expect(zip(oc, os).allSatisfy { $0.bitPattern == $1.bitPattern } && zip(yc, ys).allSatisfy { $0.bitPattern == $1.bitPattern }, "forward, width \(d)")
            // The backward accumulates into d shift and d scale: start both from the same non-zero sums.
            var (dxc, dxs) = ([Float](repeating: 5, count: d), [Float](repeating: 6, count: d))
            var (hc, cc) = (sh, sc), (hs, cs) = (sh, sc)
            layerNormModulateBackwardRow(g, yc, d, scale: sc, dshift: &hc, dscale: &cc, rstd: rc, dx: &dxc)
            layerNormModulateBackwardRow8(g, ys, d, scale: sc, dshift: &hs, dscale: &cs, rstd: rs, dx: &dxs)
            #expect(zip(dxc, dxs).allSatisfy { $0.bitPattern == $1.bitPattern }, "dx, width \(d)")
            #expect(zip(hc + cc, hs + cs).allSatisfy { $0.bitPattern == $1.bitPattern }, "d shift, d scale, width \(d)")
        }
    }

    /// Session 17: attention's dS pass on AVX-512 (cattention.c) gives the Swift pass's bits (tails of 1-15 lanes).
    @Test(.enabled(if: cgemm_avx512() != 0, "the AVX-512 row passes; other CPUs run the Swift rows")) func softmaxPullbackKeepsSwiftBits() {
        for (i, t) in [1, 7, 8, 15, 16, 17, 33, 196].enumerated() {
            let p = randomTensor([t * t], seed: UInt64(700 + i)).data, dot = randomTensor([t], seed: UInt64(800 + i)).data
            var c = randomTensor([t * t], seed: UInt64(900 + i)).data, swift = c
            softmaxPullbackRows(p, &c, t, dot)
            softmaxPullbackRows8(p, &swift, t, dot)
            #expect(zip(c, swift).allSatisfy { $0.bitPattern == $1.bitPattern }, "\(t) x \(t)")
        }
    }

    /// Session 17: the element-wise row helpers on AVX-512 (crows.c) give the 8-lane Swift loops' bits.
    @Test(.enabled(if: cgemm_avx512() != 0, "the AVX-512 row passes; other CPUs run the Swift rows")) func rowHelpersKeepSwiftBits() {
        for (i, n) in [1, 7, 8, 15, 16, 17, 33, 192, 196].enumerated() {
            let (a, b, r) = (randomTensor([n], seed: UInt64(1000 + i)).data, randomTensor([n], seed: UInt64(1100 + i)).data,
                             randomTensor([n], seed: UInt64(1200 + i)).data)
            var (c1, s1, c2, s2) = (r, r, r, r)
            accumulateRow(&c1, a, times: b, n); accumulateRow8(&s1, a, times: b, n)
            accumulateRow(&c2, a, times: nil, n); accumulateRow8(&s2, a, times: nil, n)
            var (c3, s3) = (a, a)
            scaleRow(&c3, n, 0.37); scaleRow8(&s3, n, 0.37)
            var (c4, s4) = (b, b)
            // In place (o = y), as the inference path calls it.
            c4.withUnsafeMutableBufferPointer { p in gatedAddRow(r, a, p.baseAddress!, p.baseAddress!, n) }
            s4.withUnsafeMutableBufferPointer { p in gatedAddRow8(r, a, p.baseAddress!, p.baseAddress!, n) }
            let same = { (x: [Float], y: [Float]) in zip(x, y).allSatisfy { $0.bitPattern == $1.bitPattern } }
            #expect(same(c1, s1) && same(c2, s2) && same(c3, s3) && same(c4, s4), "rows of \(n)")
        }
    }

    /// Finite differences through the linear ops at sizes that take the kernels (n, k >= 16).
    @Test func gradientsOnTheKernels() {
        let x = randomTensor([2, 13, 20], seed: 70), w = randomTensor([33, 20], seed: 71), b = randomTensor([33], seed: 72)
        #expect(gradCheck([x, w, b]) { linearRows($0[0], weight: $0[1], bias: $0[2]) } < 2e-2)
        #expect(gradCheck([x, w, b]) { linearRowsGELU($0[0], weight: $0[1], bias: $0[2]) } < 2e-2)
        let qkv = randomTensor([2, 20, 96], seed: 73, scale: 0.5)
        #expect(gradCheck([qkv], probes: 40) { multiHeadAttention($0[0], heads: 2) } < 2e-2)
    }

    @Test func environmentSwitch() {
        #expect(FastGEMM.environmentSaysOff(["FS_GEMM": "openblas"]))
        #expect(FastGEMM.environmentSaysOff(["FS_GEMM": "OFF"]))
        #expect(!FastGEMM.environmentSaysOff(["FS_GEMM": "on"]))
        #expect(!FastGEMM.environmentSaysOff([:]))
    }
}
