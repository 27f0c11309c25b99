// Stride-1 "same" convolutions (odd k, pad k/2) without im2col. Each image is copied once into a
// zero-padded buffer [cin, (h+k-1) x wp] (wp = w+k-1), and the output is computed on an h x wp
// grid (the last k-1 columns of each grid row are junk) as k*k accumulated GEMMs, one per tap
// (i, j): its B operand is the padded planes read at offset i*wp + j, rows one padded plane apart.
// im2col wrote k*k copies of every image (and BLAS then packed them again); here BLAS packs
// straight from the padded image. The backward reuses the shifts: dX is k*k GEMMs into a padded
// dX, dW is k*k GEMMs of dY on the grid (junk columns zero, so they add exactly 0) with the
// shifted planes. One image per GEMM: OpenBLAS's bits for a column depend on where it sits in
// the GEMM (measured: several images end to end in one GEMM per tap changed last bits), and a
// sample's result must not depend on its neighbours.

/// How a convolution is lowered to GEMMs. `automatic` picks per shape (`ConvGeometry.prefersTaps`);
/// the others exist for tests and benchmarks.
public enum ConvAlgorithm: Sendable { case automatic, im2col, taps, winograd2, winograd4 }

extension ConvGeometry {
    /// Stride 1 with "same" padding and an odd kernel larger than 1x1.
    var supportsTaps: Bool { stride == 1 && k > 1 && k % 2 == 1 && pad == k / 2 }
    /// From `fs-bench --only conv` (2 threads, batch 128, a quiet window, forward + backward ms,
    /// im2col vs taps): 28x28 96->32 259 vs 188, 14x14 128->64 182 vs 161, 7x7 128->64 54 vs 41,
    /// 7x7 64->64 31 vs 28, 28x28 32->32 103 vs 70, conv_out 28x28 32->1 47 vs 18 (single-row tap
    /// GEMMs still beat writing 9 copies of the image), 14x14 64->64 74 vs 74; only conv_in
    /// (28x28 1->32: 7.5 vs 20) keeps im2col, its one input plane making each tap a 1-deep GEMM.
    var prefersTaps: Bool { supportsTaps && cin >= 8 }

    func usesTaps(_ a: ConvAlgorithm) -> Bool {
        switch a {
        case .automatic: return prefersTaps
        case .im2col, .winograd2, .winograd4: return false
        case .taps:
            precondition(supportsTaps, "conv2d: the tap algorithm needs stride 1 and pad k/2 (odd k > 1)")
            return true
        }
    }

    /// Width of a padded row and of a grid row.
    var wp: Int { w + k - 1 }
    /// Floats of one padded plane.
    var padPlane: Int { (h + k - 1) * wp }
    /// Floats of a padded image: the last tap reads k-1 floats past the last plane (junk columns only).
    var paddedCount: Int { cin * padPlane + k - 1 }
    /// Columns of every tap GEMM (h grid rows).
    var gridCount: Int { h * wp }
    /// Where tap t = i*k + j starts reading in a padded plane.
    func tapOffset(_ t: Int) -> Int { (t / k) * wp + t % k }
}

/// Column blocks of a tap GEMM ([m, n] x k, or k split for dW) so that each block does at most
/// `tapGEMMBlockMACs` multiply-adds. OpenBLAS (0.3.21, SkylakeX/Cooperlake kernels) runs GEMMs this
/// small on its unpacked small-matrix kernels; measured with `fs-bench --only conv` (1 thread, 128
/// images): forward 28x28 96->32 69 -> 58.5 ms, 14x14 128->64 46 -> 41-44 ms, the rest unchanged;
/// forward img/s at 2 threads +5-13%. Blocks are a function of the shape only, so bits stay per image.
let tapGEMMBlockMACs = 1_000_000
@inline(__always)
func columnBlocks(_ n: Int, m: Int, k: Int) -> [Range<Int>] {
    let per = max(16, tapGEMMBlockMACs / max(1, m * k))
    let parts = (n + per - 1) / per, size = (n + parts - 1) / parts
    return stride(from: 0, to: n, by: size).map { $0..<min(n, $0 + size) }
}

/// Weights [cout, cin, k, k] as k*k tap matrices [cout, cin], or with `transposed` [cin, cout]
/// (the backward's dX GEMMs then run untransposed: OpenBLAS takes its faster small-matrix path).
func tapWeights(_ w: [Float], _ g: ConvGeometry, transposed: Bool = false) -> [Float] {
    let (kk, cout, cin) = (g.k * g.k, g.cout, g.cin)
    return [Float].uninitialized(w.count) { out in
        w.withUnsafeBufferPointer { wp in
            let src = wp.baseAddress!
            for t in 0..<kk {
                if transposed {
                    for ci in 0..<cin {
                        let s = src + ci * kk + t, d = out + (t * cin + ci) * cout
                        for co in 0..<cout { d[co] = s[co * cin * kk] }
                    }
                } else {
                    // Contiguous writes; the reads stay inside one output channel's cin*k*k weights.
                    for co in 0..<cout {
                        let s = src + co * cin * kk + t, d = out + (t * cout + co) * cin
                        for ci in 0..<cin { d[ci] = s[ci * kk] }
                    }
                }
            }
        }
    }
}

/// Copies `channels` planes [h, w] from `src` into `dst` whose planes are `plane` floats apart with
/// rows `g.wp` apart, starting at `offset` (the padded interior, or the grid). The rest of `dst`
/// is left as is (zero, from the caller's one-time fill).
@inline(__always)
func spreadRows(_ src: UnsafePointer<Float>, _ channels: Int, _ g: ConvGeometry,
                _ dst: UnsafeMutablePointer<Float>, plane: Int, offset: Int) {
    for c in 0..<channels {
        for r in 0..<g.h {
            (dst + c * plane + offset + r * g.wp).update(from: src + (c * g.h + r) * g.w, count: g.w)
        }
    }
}

/// Forward over the images in `range`: out[img] = (conv(x[img]) + bias) + sampleBias[img] (when given),
/// then residual[img] + that (when given).
func conv2dTapsForward(_ x: UnsafePointer<Float>, _ wt: UnsafePointer<Float>, _ bias: UnsafePointer<Float>,
                       _ sampleBias: UnsafePointer<Float>?, _ residual: UnsafePointer<Float>?,
                       _ g: ConvGeometry, _ out: UnsafeMutablePointer<Float>, _ range: Range<Int>) {
    let (cin, cout, hw, kk) = (g.cin, g.cout, g.h * g.w, g.k * g.k)
    let interior = g.pad * g.wp + g.pad
    let padded = UnsafeMutablePointer<Float>.allocate(capacity: g.paddedCount)
    let grid = UnsafeMutablePointer<Float>.allocate(capacity: cout * g.gridCount)
    defer { padded.deallocate(); grid.deallocate() }
    padded.initialize(repeating: 0, count: g.paddedCount)   // borders stay zero: only the interior is rewritten
    let blocks = columnBlocks(g.gridCount, m: cout, k: cin)
    for img in range {
        spreadRows(x + img * cin * hw, cin, g, padded, plane: g.padPlane, offset: interior)
        for cb in blocks {
            for t in 0..<kk {
                gemm(m: cout, n: cb.count, k: cin, a: wt + t * cout * cin, b: padded + g.tapOffset(t) + cb.lowerBound,
                      ldb: g.padPlane, beta: t == 0 ? 0 : 1, c: grid + cb.lowerBound, ldc: g.gridCount)
            }
        }
        // Drop the junk columns, adding the bias on the way.
        let o = out + img * cout * hw
        for co in 0..<cout {
            let v = bias[co]
            if let sampleBias {
                let e = sampleBias[img * cout + co]
                for r in 0..<g.h {
                    let s = grid + co * g.gridCount + r * g.wp, d = o + co * hw + r * g.w
                    for c in 0..<g.w { d[c] = (s[c] + v) + e }
                }
            } else if let residual {
                let q = residual + img * cout * hw + co * hw
                for r in 0..<g.h {
                    let s = grid + co * g.gridCount + r * g.wp, d = o + co * hw + r * g.w, qr = q + r * g.w
                    for c in 0..<g.w { d[c] = qr[c] + (s[c] + v) }
                }
                continue
            } else {
                for r in 0..<g.h {
                    let s = grid + co * g.gridCount + r * g.wp, d = o + co * hw + r * g.w
                    for c in 0..<g.w { d[c] = s[c] + v }
                }
            }
            if let residual {
                let q = residual + img * cout * hw + co * hw, d = o + co * hw
                for t in 0..<hw { d[t] = q[t] + d[t] }
            }
        }
    }
}

/// Backward over the images in `range`: dx[img] = convᵀ(dy[img]) (when `dx` is given) and
/// dwTaps[t, co, ci] += dW of tap t (when `dwTaps` is given; weight layout of `tapWeights`); `wtT` holds
/// the tap weights transposed (`tapWeights(_:_:transposed: true)`).
func conv2dTapsBackward(_ x: UnsafePointer<Float>, _ wtT: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                        _ g: ConvGeometry, dx: UnsafeMutablePointer<Float>?, dwTaps: UnsafeMutablePointer<Float>?,
                        _ range: Range<Int>) {
    let (cin, cout, hw, kk) = (g.cin, g.cout, g.h * g.w, g.k * g.k)
    let interior = g.pad * g.wp + g.pad
    // The padded x (for dW; borders stay zero), the padded dX, and dY on the grid.
    let padded = UnsafeMutablePointer<Float>.allocate(capacity: g.paddedCount)
    let dpad = UnsafeMutablePointer<Float>.allocate(capacity: g.paddedCount)
    let grid = UnsafeMutablePointer<Float>.allocate(capacity: cout * g.gridCount)
    defer { padded.deallocate(); dpad.deallocate(); grid.deallocate() }
    grid.initialize(repeating: 0, count: cout * g.gridCount)   // junk columns stay zero
    if dwTaps != nil { padded.initialize(repeating: 0, count: g.paddedCount) }
    // Block bounds depend only on the shape: computed once, not per image.
    let dwBlocks = columnBlocks(g.gridCount, m: cout, k: cin), dxBlocks = columnBlocks(g.gridCount, m: cin, k: cout)
    for img in range {
        spreadRows(dy + img * cout * hw, cout, g, grid, plane: g.gridCount, offset: 0)
        if let dw = dwTaps {
            spreadRows(x + img * cin * hw, cin, g, padded, plane: g.padPlane, offset: interior)
            for cb in dwBlocks {
                for t in 0..<kk {
                    // dW_t += dY_grid · shifted planesᵀ   ([cout, grid] x [grid, cin])
                    gemm(transB: true, m: cout, n: cin, k: cb.count, a: grid + cb.lowerBound, lda: g.gridCount,
                          b: padded + g.tapOffset(t) + cb.lowerBound, ldb: g.padPlane, beta: 1, c: dw + t * cout * cin)
                }
            }
        }
        if let dx {
            // The padded dX accumulates W_tᵀ · dY_grid at each tap's shift; its interior is dX.
            dpad.initialize(repeating: 0, count: g.paddedCount)
            for cb in dxBlocks {
                for t in 0..<kk {
                    gemm(m: cin, n: cb.count, k: cout, a: wtT + t * cout * cin, b: grid + cb.lowerBound, ldb: g.gridCount,
                          beta: 1, c: dpad + g.tapOffset(t) + cb.lowerBound, ldc: g.padPlane)
                }
            }
            let d = dx + img * cin * hw
            for c in 0..<cin {
                for r in 0..<g.h {
                    (d + (c * g.h + r) * g.w).update(from: dpad + c * g.padPlane + interior + r * g.wp, count: g.w)
                }
            }
        }
    }
}

/// `conv2dBackward` on the tap kernels.
func conv2dTapsBackward(_ x: Tensor, _ weight: Tensor, _ gOut: Tensor, _ g: ConvGeometry,
                        needInput: Bool, needWeight: Bool, needBias: Bool)
    -> (input: Tensor?, weight: Tensor?, bias: Tensor?) {
    let (wCount, kk, cout, cin) = (weight.count, g.k * g.k, g.cout, g.cin)
    let chunks = ReductionChunks.count(g.n)
    let wt = tapWeights(weight.data, g, transposed: true)
    var dwPartial = needWeight ? [Float](repeating: 0, count: chunks * wCount) : []
    func run(_ dxp: UnsafeMutablePointer<Float>?) {
        x.data.withUnsafeBufferPointer { xp in
        wt.withUnsafeBufferPointer { tp in
        gOut.data.withUnsafeBufferPointer { gp in
        dwPartial.withUnsafeMutableBufferPointer { dwp in
            let (xb, tb, gb) = (UnsafeSendable(xp.baseAddress!), UnsafeSendable(tp.baseAddress!), UnsafeSendable(gp.baseAddress!))
            let (dxb, dwb) = (UnsafeSendable(dxp), UnsafeSendable(needWeight ? dwp.baseAddress : nil))
            // Fixed chunks of samples, one dW partial each (summed in chunk order below).
            parallelReductionChunks(g.n) { chunk, range in
                conv2dTapsBackward(xb.value, tb.value, gb.value, g, dx: dxb.value,
                                   dwTaps: dwb.value.map { $0 + chunk * wCount }, range)
            }
        }}}}
    }
    // Every element of dx is written by the kernel: no zero fill.
    var dx: [Float] = []
    if needInput { dx = [Float].uninitialized(x.count) { run($0) } } else { run(nil) }
    var dw: Tensor? = nil
    if needWeight {
        // Sum the chunks in order (tap layout), then back to the [cout, cin, k, k] layout.
        let taps = [Float].uninitialized(wCount) { out in
            dwPartial.withUnsafeBufferPointer { sumPartials($0.baseAddress!, chunks: chunks, stride: wCount, into: out) }
        }
        let total = [Float].uninitialized(wCount) { out in
            for t in 0..<kk { for co in 0..<cout { for ci in 0..<cin {
                out[(co * cin + ci) * kk + t] = taps[(t * cout + co) * cin + ci]
            } } }
        }
        dw = Tensor(shape: weight.shape, data: total)
    }
    return (needInput ? Tensor(shape: x.shape, data: dx) : nil, dw, needBias ? gOut.channelSums() : nil)
}
