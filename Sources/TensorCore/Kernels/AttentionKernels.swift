import CGEMM
import Foundation

// Multi-head self-attention on a packed qkv tensor [n, T, 3 D] (timm's `Attention` layout: the 3D
// features are (q | k | v), each split into `heads` contiguous slices of D / heads), one BLAS call
// per product and (sample, head). The forward keeps, for a backward, either the probabilities P
// ([n, heads, T, T], when that is at most `attentionStoredProbabilityLimit` floats) or only the
// log-sum-exp of each score row ([n, heads, T]), from which the backward recomputes P (flash-attention
// style); inference keeps nothing and uses one [T, T] scratch per thread.

/// Geometry of a packed-qkv attention call.
struct AttentionShape {
    let n: Int, t: Int, d: Int, heads: Int
    var hd: Int { d / heads }
    var scale: Float { 1 / Float(hd).squareRoot() }
    /// Offsets of (sample, head) item's q in qkv and of its slice in out [n, T, D].
    func qkvOffset(_ item: Int) -> Int { (item / heads) * t * 3 * d + (item % heads) * hd }
    func outOffset(_ item: Int) -> Int { (item / heads) * t * d + (item % heads) * hd }
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

/// What an attention forward keeps for its backward: nothing (inference), each score row's log-sum-exp
/// ([n * heads * T]; the backward recomputes P with one more q kᵀ GEMM), or the probabilities P themselves
/// ([n * heads * T * T]; no recompute, when that memory is cheap: `attentionStoredProbabilityLimit`).
public enum AttentionSaved: Sendable { case none, logSumExp, probabilities }

/// The most probabilities (floats) one attention call stores for its backward instead of recomputing
/// them: 16M = 64 MB. The reference DiT (batch 64, 3 heads, 196 tokens) needs 7.4M per block, 177 MB
/// for its 6 blocks; recomputing cost a q kᵀ GEMM and an exp pass per (sample, head), ~3% of a step.
public let attentionStoredProbabilityLimit = 16 << 20

/// softmax(q kᵀ / sqrt(hd)) v per (sample, head): out [n, T, D] (heads concatenated, as timm's
/// transpose(1, 2).reshape) and what `keep` asks for (see `AttentionSaved`).
public func attentionForward(_ qkv: Tensor, heads: Int, keep: AttentionSaved) -> (out: Tensor, saved: [Float]) {
    let s = AttentionShape(qkv, heads: heads)
    let (t, d, hd) = (s.t, s.d, s.hd)
    let savedCount = keep == .probabilities ? s.n * heads * t * t : keep == .logSumExp ? s.n * heads * t : 0
    var saved = [Float].uninitialized(savedCount) { _ in }
    let out = [Float].uninitialized(s.n * t * d) { op in
        qkv.data.withUnsafeBufferPointer { qp in
            saved.withUnsafeMutableBufferPointer { sp in
                let (qb, ob) = (UnsafeSendable(qp.baseAddress!), UnsafeSendable(op))
                let kept = UnsafeSendable(savedCount > 0 ? sp.baseAddress : nil)   // an empty array may still have a base address
                let panelFloats = attentionPanelFloats(s)
                forEachAttentionSample(s) { r in
                    var scratch = [Float].uninitialized((keep == .probabilities ? 0 : t * t) + t + panelFloats) { _ in }
                    scratch.withUnsafeMutableBufferPointer { sp in
                        let inv = sp.baseAddress!, own = inv + t
                        let panels = panelFloats > 0 ? own + (keep == .probabilities ? 0 : t * t) : nil
                        for item in r {
                            let (b, h) = (item / heads, item % heads)
                            let q = qb.value + b * t * 3 * d + h * hd, k = q + d, v = q + 2 * d
                            let sc = keep == .probabilities ? kept.value! + item * t * t : own
                            tokenGemm(scratch: panels, transB: true, m: t, n: t, k: hd, alpha: s.scale, a: q, lda: 3 * d, b: k, ldb: 3 * d,
                                      c: sc, ldc: t)
                            let next = qb.value + s.qkvOffset(min(item + 1, s.n * heads - 1))
                            // exp(S - max) per row; the 1 / sum goes on the output rows (T x hd, not T x T).
                            for i in 0..<t {
                                cattn_prefetch(next + i * 3 * d, 3, d, Int32(hd))   // the next item's q, k, v row i
                                let (m, sum) = expRow(sc + i * t, t)
                                inv[i] = 1 / sum
                                if keep == .logSumExp { kept.value![item * t + i] = m + logf(sum) }
                            }
                            let o = ob.value + b * t * d + h * hd
                            tokenGemm(scratch: panels, m: t, n: hd, k: t, a: sc, lda: t, b: v, ldb: 3 * d, c: o, ldc: d)
                            for i in 0..<t { scaleRow(o + i * d, hd, inv[i]) }
                            if keep == .probabilities { for i in 0..<t { scaleRow(sc + i * t, t, inv[i]) } }
                        }
                    }
                }
            }
        }
    }
    return (Tensor(shape: [s.n, t, d], data: out), saved)
}

/// Scratch floats per thread for `tokenGemm`'s packed operand (q kᵀ, P V and their pullbacks), or 0 when
/// OpenBLAS does the products (`FastGEMM.applies` on the head's sizes).
func attentionPanelFloats(_ s: AttentionShape) -> Int {
    guard FastGEMM.applies(n: min(s.t, s.hd), k: min(s.t, s.hd)) else { return 0 }
    return max(tokenGemmScratch(n: s.t, k: s.hd), tokenGemmScratch(n: s.hd, k: s.t))
}

/// p[j] *= f over one row of `n` floats.
@inline(__always)
func scaleRow(_ p: UnsafeMutablePointer<Float>, _ n: Int, _ f: Float) {
    if rowPassesInC { crow_scale(p, n, f) } else { scaleRow8(p, n, f) }
}

/// `scaleRow` in 8-lane Swift (no AVX-512; the C copy's reference).
@inline(__always)
func scaleRow8(_ p: UnsafeMutablePointer<Float>, _ n: Int, _ f: Float) {
    let f8 = F8(repeating: f)
    var j = 0
    while j < n { let c = min(8, n - j); store8(load8(p + j, c) * f8, p + j, c); j += 8 }
}

/// The attention pullback: d qkv [n, T, 3 D] from the output gradient, the saved output and what the
/// forward kept. Per (sample, head): P (kept, or exp(S - lse) recomputed), dV = Pᵀ dO, dP = dO Vᵀ,
/// dS = P (dP - rowsum(dO ∘ O)), dQ = scale dS K, dK = scale dSᵀ Q.
public func attentionBackward(_ qkv: Tensor, out: Tensor, saved: [Float], kept: AttentionSaved, _ g: Tensor, heads: Int) -> Tensor {
    let s = AttentionShape(qkv, heads: heads)
    let (t, d, hd) = (s.t, s.d, s.hd)
    precondition(kept != .none && saved.count == s.n * heads * t * (kept == .probabilities ? t : 1),
                 "attentionBackward: nothing saved by the forward")
    let dqkv = [Float].uninitialized(qkv.count) { dp in
        qkv.data.withUnsafeBufferPointer { qp in
        out.data.withUnsafeBufferPointer { op in
        g.data.withUnsafeBufferPointer { gp in
        saved.withUnsafeBufferPointer { lp in
            let (qb, ob, gb, lb, db) = (UnsafeSendable(qp.baseAddress!), UnsafeSendable(op.baseAddress!),
                                        UnsafeSendable(gp.baseAddress!), UnsafeSendable(lp.baseAddress!), UnsafeSendable(dp))
            let panelFloats = attentionPanelFloats(s)
            forEachAttentionSample(s) { r in
                var scratch = [Float].uninitialized((kept == .probabilities ? 0 : t * t) + t * t + t + panelFloats) { _ in }
                scratch.withUnsafeMutableBufferPointer { sp in
                    let dpm = sp.baseAddress!, rowDot = dpm + t * t, own = rowDot + t
                    let panels = panelFloats > 0 ? own + (kept == .probabilities ? 0 : t * t) : nil
                    for item in r {
                        let (b, h) = (item / heads, item % heads)
                        let q = qb.value + b * t * 3 * d + h * hd, k = q + d, v = q + 2 * d
                        let o = ob.value + b * t * d + h * hd, dO = gb.value + b * t * d + h * hd
                        let dq = db.value + b * t * 3 * d + h * hd, dk = dq + d, dv = dq + 2 * d
                        let pm: UnsafePointer<Float>
                        if kept == .probabilities {
                            pm = lb.value + item * t * t
                        } else {
                            // P from the saved log-sum-exp.
                            tokenGemm(scratch: panels, transB: true, m: t, n: t, k: hd, alpha: s.scale, a: q, lda: 3 * d, b: k, ldb: 3 * d, c: own, ldc: t)
                            for i in 0..<t { expShiftedRow(own + i * t, t, lb.value[item * t + i]) }
                            pm = UnsafePointer(own)
                        }
                        let next = min(item + 1, s.n * heads - 1)
                        let (nq, nOut) = (qb.value + s.qkvOffset(next), s.outOffset(next))
                        // D_i = <dO_i, O_i>.
                        for i in 0..<t {
                            // The next item's q, k, v, o and dO rows i.
                            cattn_prefetch(nq + i * 3 * d, 3, d, Int32(hd))
                            cattn_prefetch(ob.value + nOut + i * d, 1, 0, Int32(hd)); cattn_prefetch(gb.value + nOut + i * d, 1, 0, Int32(hd))
                            var acc = F8(repeating: 0), j = 0
                            while j < hd { let c = min(8, hd - j); acc = acc.addingProduct(load8(dO + i * d + j, c), load8(o + i * d + j, c)); j += 8 }
                            rowDot[i] = acc.sum()
                        }
                        // dS before dV = Pᵀ dO: the dS pass reads a kept P row by row from memory (streamed by the
                        // prefetcher), and Pᵀ dO, which reads P by column strips, then finds it in L2
                        // (~80 -> ~100 GFLOP/s). The products do not depend on each other: same bits.
                        tokenGemm(scratch: panels, transB: true, m: t, n: t, k: hd, a: dO, lda: d, b: v, ldb: 3 * d, c: dpm, ldc: t)
                        softmaxPullbackRows(pm, dpm, t, rowDot)
                        tokenGemm(scratch: panels, transA: true, m: t, n: hd, k: t, a: pm, lda: t, b: dO, ldb: d, c: dv, ldc: 3 * d)
                        tokenGemm(scratch: panels, m: t, n: hd, k: t, alpha: s.scale, a: dpm, lda: t, b: k, ldb: 3 * d, c: dq, ldc: 3 * d)
                        tokenGemm(scratch: panels, transA: true, m: t, n: hd, k: t, alpha: s.scale, a: dpm, lda: t, b: q, ldb: 3 * d, c: dk, ldc: 3 * d)
                    }
                }
            }
        }}}}
    }
    return Tensor(shape: qkv.shape, data: dqkv)
}

/// dS = P (dP - D) over the t x t block in place of dP: `CGEMM`'s AVX-512 copy when available, same bits.
@inline(__always)
func softmaxPullbackRows(_ p: UnsafePointer<Float>, _ dp: UnsafeMutablePointer<Float>, _ t: Int, _ rowDot: UnsafePointer<Float>) {
    if rowPassesInC { cattn_softmax_pullback(p, dp, Int32(t), rowDot); return }
    softmaxPullbackRows8(p, dp, t, rowDot)
}

/// `softmaxPullbackRows` in 8-lane Swift (no AVX-512; the C copy's reference).
func softmaxPullbackRows8(_ p: UnsafePointer<Float>, _ dp: UnsafeMutablePointer<Float>, _ t: Int, _ rowDot: UnsafePointer<Float>) {
    for i in 0..<t {
        let pr = p + i * t, dr = dp + i * t, di = F8(repeating: rowDot[i])
        var j = 0
        while j < t { let c = min(8, t - j); store8(load8(pr + j, c) * (load8(dr + j, c) - di), dr + j, c); j += 8 }
    }
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
            // Wᵀ packed once for all blocks (FastGEMM), else OpenBLAS per block.
            let panels = FastGEMM.applies(n: outF, k: inF) ? GEMMPanels(transposed: true, n: outF, k: inF, b: wb.value, ldb: inF) : nil
            let body = { (r: Range<Int>) in
                let rows = r.count * rowsPer, o = ob.value + r.lowerBound * rowsPer * outF
                if let panels {
                    let a = xb.value + r.lowerBound * rowsPer * inF
                    if let bias { bias.withUnsafeBufferPointer { panels.multiply(m: rows, a: a, lda: inF, bias: $0.baseAddress!, c: o, ldc: outF) } }
                    else { panels.multiply(m: rows, a: a, lda: inF, c: o, ldc: outF) }
                    if let epilogue { epilogue(ob.value, (r.lowerBound * rowsPer * outF)..<(r.upperBound * rowsPer * outF)) }
                    return
                }
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
            else {
                let items = LinearRowItems(blocks, rowsPer: rowsPer, fast: panels != nil)
                parallelItems(items.count) { body(items.samples($0)) }
            }
        }}
    }
    return Tensor(shape: shape, data: out)
}

/// The pullback of `linearRowsForward`: (dx, dW, db), each only when asked, as one pool of items that
/// the threads take as they come free: dx per `SampleBlocks` block, dW and db per `FeatureBlocks`
/// block of output features (each owns its rows of dW and entries of db, summed over all rows in order,
/// so no reduction across items).
/// `dxEpilogue(dx, floats)` runs on each dx block right after its GEMM (a fused activation pullback).
public func linearRowsBackward(_ x: Tensor, _ w: Tensor, _ g: Tensor, needInput: Bool, needWeight: Bool, needBias: Bool,
                               dxEpilogue: ((UnsafeMutablePointer<Float>, Range<Int>) -> Void)? = nil)
    -> (input: Tensor?, weight: Tensor?, bias: Tensor?) {
    let (outF, inF) = (w.shape[0], w.shape[1])
    let lead = x.rank >= 2 ? x.shape[0] : 1, rowsPer = x.count / inF / max(1, lead), rows = lead * rowsPer
    let parallel = rows * max(inF, outF) >= 1 << 14 && ComputeThreads.count > 1
    let samples = SampleBlocks(samples: lead, rowsPer: rowsPer)
    let features = FeatureBlocks(features: outF, target: 2)
    // db from the dx items when there are any: each sums its block's rows of g right after its GEMM read
    // them (still in cache; a separate pass over g came from memory, ~3% of a DiT step), then the
    // block sums are added in block order. The blocks depend on the shape only, so the bits do too.
    let biasInDx = needBias && needInput
    // On FastGEMM, dW's split does not change a bit (each element is one chain over the rows), so the
    // split is along the wider operand: each item reads its half of that one and all of the narrower one
    // (fc2's dW re-read x [rows, 768] per half; now g [rows, 192]).
    let dwFast = FastGEMM.applies(n: inF, k: outF)
    let splitColumns = dwFast && needWeight && inF > outF && !(needBias && !biasInDx)
    let columns = FeatureBlocks(features: inF, target: 2)
    // dx in `LinearRowItems` (a split tail on FastGEMM); the bias sums of the split blocks are items of
    // their own (over g from memory, a few blocks only), so every block sum keeps its rows and order.
    let dxParts = LinearRowItems(samples, rowsPer: rowsPer, fast: needInput && FastGEMM.applies(n: inF, k: outF))
    let sumItems = biasInDx && parallel ? dxParts.splitBlocks.count : 0
    let dxItems = needInput ? (parallel ? dxParts.count : samples.count) : 0
    let dwItems = splitColumns ? columns.count : needWeight || (needBias && !biasInDx) ? features.count : 0
    var dx = needInput ? [Float].uninitialized(x.count) { _ in } : []
    var dw = needWeight ? [Float].uninitialized(w.count) { _ in } : []
    var db = [Float](repeating: 0, count: needBias ? outF : 0)
    var blockSums = [Float](repeating: 0, count: biasInDx ? samples.count * outF : 0)
    g.data.withUnsafeBufferPointer { gp in
    x.data.withUnsafeBufferPointer { xp in
    w.data.withUnsafeBufferPointer { wp in
    dx.withUnsafeMutableBufferPointer { dxp in
    dw.withUnsafeMutableBufferPointer { dwp in
    db.withUnsafeMutableBufferPointer { dbp in
    blockSums.withUnsafeMutableBufferPointer { bsp in
        let (gb, xb, wb) = (UnsafeSendable(gp.baseAddress!), UnsafeSendable(xp.baseAddress!), UnsafeSendable(wp.baseAddress!))
        // FastGEMM: W packed once for the dx blocks; dW reads g and x in place.
        let dxPanels = needInput && FastGEMM.applies(n: inF, k: outF) ? GEMMPanels(transposed: false, n: inF, k: outF, b: wb.value, ldb: inF) : nil
        let sums = UnsafeSendable(biasInDx ? bsp.baseAddress : nil)
        // An empty array may still have a base address: only the asked-for outputs get one.
        let (dxb, dwb, dbb) = (UnsafeSendable(needInput ? dxp.baseAddress : nil), UnsafeSendable(needWeight ? dwp.baseAddress : nil),
                               UnsafeSendable(needBias ? dbp.baseAddress : nil))
        let item = { (i: Int) in
            if i < dwItems, splitColumns, let o = dwb.value {
                // dW = gᵀ x over all rows, these input features' columns of dW.
                let r = columns.range(i)
                gemmTransposedA(m: outF, n: r.count, k: rows, a: gb.value, lda: outF, b: xb.value + r.lowerBound, ldb: inF,
                                c: o + r.lowerBound, ldc: inF)
            } else if i < dwItems {
                let r = features.range(i)
                if let o = dwb.value {
                    // dW = gᵀ x over all rows, these output features' rows of dW.
                    if dwFast {
                        gemmTransposedA(m: r.count, n: inF, k: rows, a: gb.value + r.lowerBound, lda: outF, b: xb.value, ldb: inF,
                                        c: o + r.lowerBound * inF, ldc: inF)
                    } else {
                        gemm(rowsSplit: true, transA: true, m: r.count, n: inF, k: rows, a: gb.value + r.lowerBound, lda: outF,
                             b: xb.value, c: o + r.lowerBound * inF)
                    }
                }
                if !biasInDx, let o = dbb.value {
                    // db = column sums of g, rows in order (o starts at zero).
                    for row in 0..<rows { accumulateRow(o + r.lowerBound, gb.value + row * outF + r.lowerBound, times: nil, r.count) }
                }
            } else if i < dwItems + sumItems, let s = sums.value {
                // The bias sums of a split block, its rows in order (as a whole block's item does).
                let block = dxParts.splitBlocks.lowerBound + i - dwItems
                blockSum(s + block * outF, gb.value + samples.range(block).lowerBound * rowsPer * outF, samples.range(block).count * rowsPer, width: outF)
            } else if let o = dxb.value {
                // dx = g W on these samples (a whole block, or a piece of a split one on FastGEMM).
                let item = i - dwItems - sumItems
                let r = parallel ? dxParts.samples(item) : samples.range(item)
                let gBlock = gb.value + r.lowerBound * rowsPer * outF
                if let dxPanels { dxPanels.multiply(m: r.count * rowsPer, a: gBlock, lda: outF, c: o + r.lowerBound * rowsPer * inF, ldc: inF) }
                else { gemm(rowsSplit: true, m: r.count * rowsPer, n: inF, k: outF, a: gBlock, b: wb.value, c: o + r.lowerBound * rowsPer * inF) }
                if let dxEpilogue { dxEpilogue(o, (r.lowerBound * rowsPer * inF)..<(r.upperBound * rowsPer * inF)) }
                // A whole block's bias sums while its rows of g are in cache.
                if let s = sums.value, !parallel || item < dxParts.whole { blockSum(s + item * outF, gBlock, r.count * rowsPer, width: outF) }
            }
        }
        let items = dwItems + sumItems + dxItems
        if parallel { parallelItems(items, item) } else { for i in 0..<items { item(i) } }
        if let s = sums.value, let o = dbb.value { for b in 0..<samples.count { accumulateRow(o, s + b * outF, times: nil, outF) } }
    }}}}}}}
    return (needInput ? Tensor(shape: x.shape, data: dx) : nil, needWeight ? Tensor(shape: w.shape, data: dw) : nil,
            needBias ? Tensor(shape: [outF], data: db) : nil)
}

/// sum[j] += rows of g [rows, sum's width] in order (a block's bias-gradient partial; sum starts at zero).
@inline(__always)
private func blockSum(_ sum: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ rows: Int, width: Int) {
    for row in 0..<rows { accumulateRow(sum, g + row * width, times: nil, width) }
}

/// o = r + a y over one row of `n` (o may be y): `CGEMM`'s AVX-512 copy when available, same bits.
@inline(__always)
func gatedAddRow(_ r: UnsafePointer<Float>, _ a: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ o: UnsafeMutablePointer<Float>, _ n: Int) {
    if rowPassesInC { crow_gated_add(r, a, y, o, n); return }
    gatedAddRow8(r, a, y, o, n)
}

/// `gatedAddRow` in 8-lane Swift (no AVX-512; the C copy's reference).
func gatedAddRow8(_ r: UnsafePointer<Float>, _ a: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ o: UnsafeMutablePointer<Float>, _ n: Int) {
    var j = 0
    while j < n { let c = min(8, n - j); store8(load8(r + j, c) + load8(a + j, c) * load8(y + j, c), o + j, c); j += 8 }
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

/// residual + gate * (x Wᵀ + b) row-wise with a per-sample gate [n, out] (DiT's gated residual after
/// attn.proj and mlp.fc2), the residual add in each block's epilogue. Keeps y = x Wᵀ + b for a backward
/// (`keepLinear`: the gate's gradient needs it), else adds in place. Same bits as `addGated` after
/// `linearRowsForward`.
public func linearRowsGatedResidualForward(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, residual: Tensor, gate: Tensor,
                                           keepLinear: Bool) -> (linear: Tensor?, out: Tensor) {
    let outF = w.shape[0], n = x.shape[0], count = x.count / w.shape[1] * outF
    precondition(residual.count == count && residual.shape[0] == n && gate.shape == [n, outF],
                 "linearRowsGatedResidual: residual \(residual.shape), gate \(gate.shape) for \(x.shape) x \(w.shape)ᵀ")
    let rowsPer = count / (n * outF)
    return residual.data.withUnsafeBufferPointer { rp in gate.data.withUnsafeBufferPointer { ap in
        let (rb, ab) = (UnsafeSendable(rp.baseAddress!), UnsafeSendable(ap.baseAddress!))
        // o[j] = r[j] + a[j] * y[j] over the block's whole samples.
        func add(_ y: UnsafeMutablePointer<Float>, _ o: UnsafeMutablePointer<Float>, _ floats: Range<Int>) {
            for s in (floats.lowerBound / (rowsPer * outF))..<(floats.upperBound / (rowsPer * outF)) {
                let a = ab.value + s * outF
                for i in 0..<rowsPer {
                    let row = (s * rowsPer + i) * outF
                    gatedAddRow(rb.value + row, a, y + row, o + row, outF)
                }
            }
        }
        guard keepLinear else { return (nil, linearRowsForward(x, w, bias) { y, r in add(y, y, r) }) }
        var linear: Tensor? = nil
        let out = [Float].uninitialized(count) { op in
            let ob = UnsafeSendable(op)
            linear = linearRowsForward(x, w, bias) { y, r in add(y, ob.value, r) }
        }
        return (linear, Tensor(shape: linear!.shape, data: out))
    }}
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
