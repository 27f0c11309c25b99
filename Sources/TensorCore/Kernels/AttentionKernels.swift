import Foundation

// Multi-head self-attention on a packed qkv tensor [n, T, 3 D] (timm's `Attention` layout: the 3D
// features are (q | k | v), each split into `heads` contiguous slices of D / heads), one BLAS call
// per product and (sample, head). Only a [T, T] scratch per thread is materialised; the forward keeps
// the log-sum-exp of each score row ([n, heads, T]) and the backward recomputes the probabilities
// from it (flash-attention style), so no [n, heads, T, T] tensor is ever stored.

/// Geometry of a packed-qkv attention call.
struct AttentionShape {
    let n: Int, t: Int, d: Int, heads: Int
    var hd: Int { d / heads }
    var scale: Float { 1 / Float(hd).squareRoot() }
    init(_ qkv: Tensor, heads: Int) {
        precondition(qkv.rank == 3 && qkv.shape[2] % (3 * heads) == 0,
                     "attention: qkv \(qkv.shape) for \(heads) heads (want [n, T, 3 D], D divisible by heads)")
        (n, t, d, self.heads) = (qkv.shape[0], qkv.shape[1], qkv.shape[2] / 3, heads)
    }
}

/// Runs `body` on the (sample, head) items of each sample, samples taken by the threads as they come
/// free (`parallelItems`; static halves waited at the join for a preempted thread). Items are
/// independent, so the bits do not depend on the split.
func forEachAttentionSample(_ s: AttentionShape, _ body: (Range<Int>) -> Void) {
    if ComputeThreads.count == 1 || s.n == 1 { parallelChunks(s.n * s.heads) { _, r in body(r) }; return }
    parallelItems(s.n) { b in body((b * s.heads)..<((b + 1) * s.heads)) }
}

/// softmax(q kᵀ / sqrt(hd)) v per (sample, head): out [n, T, D] (heads concatenated, as timm's
/// transpose(1, 2).reshape) and the log-sum-exp of each score row [n * heads * T].
public func attentionForward(_ qkv: Tensor, heads: Int, keepLogSumExp: Bool = true) -> (out: Tensor, lse: [Float]) {
    let s = AttentionShape(qkv, heads: heads)
    let (t, d, hd) = (s.t, s.d, s.hd)
    var lse = [Float](repeating: 0, count: keepLogSumExp ? s.n * heads * t : 0)
    let out = [Float].uninitialized(s.n * t * d) { op in
        qkv.data.withUnsafeBufferPointer { qp in
            lse.withUnsafeMutableBufferPointer { lp in
                let (qb, ob) = (UnsafeSendable(qp.baseAddress!), UnsafeSendable(op))
                let lb = UnsafeSendable(keepLogSumExp ? lp.baseAddress : nil)   // an empty array may still have a base address
                forEachAttentionSample(s) { r in
                    var scores = [Float](repeating: 0, count: t * t + t)
                    scores.withUnsafeMutableBufferPointer { sp in
                        let sc = sp.baseAddress!, inv = sc + t * t
                        for item in r {
                            let (b, h) = (item / heads, item % heads)
                            let q = qb.value + b * t * 3 * d + h * hd, k = q + d, v = q + 2 * d
                            gemm(transB: true, m: t, n: t, k: hd, alpha: s.scale, a: q, lda: 3 * d, b: k, ldb: 3 * d,
                                  c: sc, ldc: t)
                            // exp(S - max) per row; the 1 / sum goes on the output rows (T x hd, not T x T).
                            for i in 0..<t {
                                let (m, sum) = expRow(sc + i * t, t)
                                inv[i] = 1 / sum
                                if let lbase = lb.value { lbase[item * t + i] = m + logf(sum) }
                            }
                            let o = ob.value + b * t * d + h * hd
                            gemm(m: t, n: hd, k: t, a: sc, lda: t, b: v, ldb: 3 * d, c: o, ldc: d)
                            for i in 0..<t {
                                let (orow, f) = (o + i * d, F8(repeating: inv[i]))
                                var j = 0
                                while j < hd { let c = min(8, hd - j); store8(load8(orow + j, c) * f, orow + j, c); j += 8 }
                            }
                        }
                    }
                }
            }
        }
    }
    return (Tensor(shape: [s.n, t, d], data: out), lse)
}

/// The attention pullback: d qkv [n, T, 3 D] from the output gradient, the saved output and
/// log-sum-exps. Per (sample, head): P = exp(S - lse) recomputed, dV = Pᵀ dO, dP = dO Vᵀ,
/// dS = P (dP - rowsum(dO ∘ O)), dQ = scale dS K, dK = scale dSᵀ Q.
public func attentionBackward(_ qkv: Tensor, out: Tensor, lse: [Float], _ g: Tensor, heads: Int) -> Tensor {
    let s = AttentionShape(qkv, heads: heads)
    let (t, d, hd) = (s.t, s.d, s.hd)
    precondition(lse.count == s.n * heads * t, "attentionBackward: no saved log-sum-exp")
    let dqkv = [Float].uninitialized(qkv.count) { dp in
        qkv.data.withUnsafeBufferPointer { qp in
        out.data.withUnsafeBufferPointer { op in
        g.data.withUnsafeBufferPointer { gp in
        lse.withUnsafeBufferPointer { lp in
            let (qb, ob, gb, lb, db) = (UnsafeSendable(qp.baseAddress!), UnsafeSendable(op.baseAddress!),
                                        UnsafeSendable(gp.baseAddress!), UnsafeSendable(lp.baseAddress!), UnsafeSendable(dp))
            forEachAttentionSample(s) { r in
                var scratch = [Float](repeating: 0, count: 2 * t * t + t)
                scratch.withUnsafeMutableBufferPointer { sp in
                    let pm = sp.baseAddress!, dpm = pm + t * t, rowDot = dpm + t * t
                    for item in r {
                        let (b, h) = (item / heads, item % heads)
                        let q = qb.value + b * t * 3 * d + h * hd, k = q + d, v = q + 2 * d
                        let o = ob.value + b * t * d + h * hd, dO = gb.value + b * t * d + h * hd
                        let dq = db.value + b * t * 3 * d + h * hd, dk = dq + d, dv = dq + 2 * d
                        // P from the saved log-sum-exp.
                        gemm(transB: true, m: t, n: t, k: hd, alpha: s.scale, a: q, lda: 3 * d, b: k, ldb: 3 * d, c: pm, ldc: t)
                        for i in 0..<t { expShiftedRow(pm + i * t, t, lb.value[item * t + i]) }
                        // D_i = <dO_i, O_i>.
                        for i in 0..<t {
                            var acc: Float = 0
                            for j in 0..<hd { acc += dO[i * d + j] * o[i * d + j] }
                            rowDot[i] = acc
                        }
                        gemm(transA: true, m: t, n: hd, k: t, a: pm, lda: t, b: dO, ldb: d, c: dv, ldc: 3 * d)
                        gemm(transB: true, m: t, n: t, k: hd, a: dO, lda: d, b: v, ldb: 3 * d, c: dpm, ldc: t)
                        for i in 0..<t {
                            let pr = pm + i * t, dr = dpm + i * t, di = F8(repeating: rowDot[i])
                            var j = 0
                            while j < t { let c = min(8, t - j); store8(load8(pr + j, c) * (load8(dr + j, c) - di), dr + j, c); j += 8 }
                        }
                        gemm(m: t, n: hd, k: t, alpha: s.scale, a: dpm, lda: t, b: k, ldb: 3 * d, c: dq, ldc: 3 * d)
                        gemm(transA: true, m: t, n: hd, k: t, alpha: s.scale, a: dpm, lda: t, b: q, ldb: 3 * d, c: dk, ldc: 3 * d)
                    }
                }
            }
        }}}}
    }
    return Tensor(shape: qkv.shape, data: dqkv)
}

// MARK: Row-wise linear layers

/// The fixed sample blocks a row-wise linear layer's GEMMs run on: `count` blocks of at least
/// `minimumRows` rows (or all samples), sizes differing by at most one sample. They depend on the shape
/// only, never on the thread count, and the threads take them one by one as they finish (`parallelItems`):
/// with static halves, one thread preempted by another process (or a Dispatch worker woken late) kept
/// the other waiting at every op's join; measured a 2-thread DiT step slower than a 1-thread one at load 4.
/// A row's bits do not depend on its block: the blocked GEMM sums each element over the same K blocks.
struct SampleBlocks {
    static let minimumRows = 1024
    let samples: Int, count: Int
    init(samples: Int, rowsPer: Int) {
        self.samples = samples
        count = max(1, min(samples, samples * rowsPer / Self.minimumRows))
    }
    func range(_ i: Int) -> Range<Int> { (i * samples / count)..<((i + 1) * samples / count) }
}

/// Output-feature blocks of a weight gradient, multiples of 16 rows (the GEMM kernel's row unroll, so
/// only the last block has a tail, as one whole-matrix GEMM has) and about `target` of them.
struct FeatureBlocks {
    let features: Int, size: Int
    init(features: Int, target: Int) {
        self.features = features
        size = max(16, (features / max(1, target) + 15) / 16 * 16)
    }
    var count: Int { (features + size - 1) / size }
    func range(_ i: Int) -> Range<Int> { (i * size)..<min(features, (i + 1) * size) }
}

/// y = x Wᵀ + b for every row of x [..., in] (W [out, in]), one GEMM per `SampleBlocks` block of
/// leading-axis rows (samples), blocks taken by `ComputeThreads` as they come free. `epilogue(y, floats)`
/// runs on each block's output right after its GEMM, while it is still in cache (a fused activation).
public func linearRowsForward(_ x: Tensor, _ w: Tensor, _ bias: Tensor?,
                              epilogue: ((UnsafeMutablePointer<Float>, Range<Int>) -> Void)? = nil) -> Tensor {
    let (outF, inF) = (w.shape[0], w.shape[1])
    precondition(x.shape.last == inF, "linearRows: x \(x.shape) for weight \(w.shape)")
    let lead = x.rank >= 2 ? x.shape[0] : 1, rowsPer = x.count / inF / max(1, lead)
    var shape = x.shape; shape[shape.count - 1] = outF
    let total = lead * rowsPer * outF
    let out = [Float].uninitialized(total) { op in
        x.data.withUnsafeBufferPointer { xp in
        w.data.withUnsafeBufferPointer { wp in
            let (xb, wb, ob) = (UnsafeSendable(xp.baseAddress!), UnsafeSendable(wp.baseAddress!), UnsafeSendable(op))
            let bias = bias?.data
            let body = { (r: Range<Int>) in
                let rows = r.count * rowsPer, o = ob.value + r.lowerBound * rowsPer * outF
                if let bias {
                    bias.withUnsafeBufferPointer { bp in
                        for i in 0..<rows { (o + i * outF).update(from: bp.baseAddress!, count: outF) }
                    }
                }
                gemm(rowsSplit: true, transB: true, m: rows, n: outF, k: inF, a: xb.value + r.lowerBound * rowsPer * inF,
                      b: wb.value, beta: bias == nil ? 0 : 1, c: o)
                if let epilogue { epilogue(ob.value, (r.lowerBound * rowsPer * outF)..<(r.upperBound * rowsPer * outF)) }
            }
            let blocks = SampleBlocks(samples: lead, rowsPer: rowsPer)
            if total < 1 << 14 || ComputeThreads.count == 1 { for i in 0..<blocks.count { body(blocks.range(i)) } }
            else { parallelItems(blocks.count) { body(blocks.range($0)) } }
        }}
    }
    return Tensor(shape: shape, data: out)
}

/// The pullback of `linearRowsForward`: (dx, dW, db), each only when asked, as one pool of items that
/// the threads take as they come free: dx per `SampleBlocks` block, dW and db per `FeatureBlocks`
/// block of output features (each owns its rows of dW and entries of db, summed over all rows in order,
/// so no reduction across items).
public func linearRowsBackward(_ x: Tensor, _ w: Tensor, _ g: Tensor, needInput: Bool, needWeight: Bool, needBias: Bool)
    -> (input: Tensor?, weight: Tensor?, bias: Tensor?) {
    let (outF, inF) = (w.shape[0], w.shape[1])
    let lead = x.rank >= 2 ? x.shape[0] : 1, rowsPer = x.count / inF / max(1, lead), rows = lead * rowsPer
    let parallel = rows * max(inF, outF) >= 1 << 14 && ComputeThreads.count > 1
    let samples = SampleBlocks(samples: lead, rowsPer: rowsPer)
    let features = FeatureBlocks(features: outF, target: 2)
    let dxItems = needInput ? samples.count : 0, dwItems = needWeight || needBias ? features.count : 0
    var dx = needInput ? [Float].uninitialized(x.count) { _ in } : []
    var dw = needWeight ? [Float].uninitialized(w.count) { _ in } : []
    var db = [Float](repeating: 0, count: needBias ? outF : 0)
    g.data.withUnsafeBufferPointer { gp in
    x.data.withUnsafeBufferPointer { xp in
    w.data.withUnsafeBufferPointer { wp in
    dx.withUnsafeMutableBufferPointer { dxp in
    dw.withUnsafeMutableBufferPointer { dwp in
    db.withUnsafeMutableBufferPointer { dbp in
        let (gb, xb, wb) = (UnsafeSendable(gp.baseAddress!), UnsafeSendable(xp.baseAddress!), UnsafeSendable(wp.baseAddress!))
        // An empty array may still have a base address: only the asked-for outputs get one.
        let (dxb, dwb, dbb) = (UnsafeSendable(needInput ? dxp.baseAddress : nil), UnsafeSendable(needWeight ? dwp.baseAddress : nil),
                               UnsafeSendable(needBias ? dbp.baseAddress : nil))
        let item = { (i: Int) in
            if i < dwItems {
                let r = features.range(i)
                if let o = dwb.value {
                    // dW = gᵀ x over all rows, these output features' rows of dW.
                    gemm(rowsSplit: true, transA: true, m: r.count, n: inF, k: rows, a: gb.value + r.lowerBound, lda: outF,
                          b: xb.value, c: o + r.lowerBound * inF)
                }
                // db = column sums of g.
                if let o = dbb.value { columnSums(gb.value, rows: rows, stride: outF, columns: r, into: o) }
            } else if let o = dxb.value {
                // dx = g W on this block of samples.
                let r = samples.range(i - dwItems)
                gemm(rowsSplit: true, m: r.count * rowsPer, n: inF, k: outF, a: gb.value + r.lowerBound * rowsPer * outF,
                      b: wb.value, c: o + r.lowerBound * rowsPer * inF)
            }
        }
        if parallel { parallelItems(dwItems + dxItems, item) } else { for i in 0..<(dwItems + dxItems) { item(i) } }
    }}}}}}
    return (needInput ? Tensor(shape: x.shape, data: dx) : nil, needWeight ? Tensor(shape: w.shape, data: dw) : nil,
            needBias ? Tensor(shape: [outF], data: db) : nil)
}

/// gelu(x Wᵀ + b) row-wise (`linearRowsForward` with GELU fused into each block's epilogue). Keeps the
/// pre-activation for a backward (`keepPreactivation`), else applies GELU in place (inference: one
/// activation-sized array and one pass over it fewer). Same bits as the two passes.
public func linearRowsGELUForward(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, keepPreactivation: Bool)
    -> (pre: Tensor?, out: Tensor) {
    guard keepPreactivation else { return (nil, linearRowsForward(x, w, bias) { y, r in geluRange(y, y, r) }) }
    let count = x.count / w.shape[1] * w.shape[0]
    var pre: Tensor? = nil
    let out = [Float].uninitialized(count) { op in
        let ob = UnsafeSendable(op)
        pre = linearRowsForward(x, w, bias) { y, r in geluRange(y, ob.value, r) }
    }
    return (pre, Tensor(shape: pre!.shape, data: out))
}

// MARK: Batched matrix products

/// C[b] = op(A[b]) op(B[b]) for A [batch, ., .], B [batch, ., .]; split over the batch.
func batchedGemm(_ a: Tensor, _ b: Tensor, transA: Bool, transB: Bool, batch: Int, m: Int, n: Int, k: Int) -> Tensor {
    let (sa, sb) = (a.count / batch, b.count / batch)
    let out = [Float].uninitialized(batch * m * n) { op in
        a.data.withUnsafeBufferPointer { ap in
        b.data.withUnsafeBufferPointer { bp in
            let (ab, bb, ob) = (UnsafeSendable(ap.baseAddress!), UnsafeSendable(bp.baseAddress!), UnsafeSendable(op))
            let body = { (r: Range<Int>) in
                for i in r {
                    gemm(transA: transA, transB: transB, m: m, n: n, k: k, a: ab.value + i * sa, b: bb.value + i * sb,
                          c: ob.value + i * m * n)
                }
            }
            if batch * m * n * k < 1 << 16 || ComputeThreads.count == 1 { body(0..<batch) } else { parallelChunks(batch) { _, r in body(r) } }
        }}
    }
    return Tensor(shape: [batch, m, n], data: out)
}
