import Foundation

// Row kernels for the transformer ops (DiT): LayerNorm without affine parameters, softmax and
// GELU (tanh approximation) over the last axis, eight lanes at a time. Work splits over rows;
// a row's result depends only on that row, so it does not depend on the batch or thread count.

/// Calls `body(rows)` over `0..<rows`, split over `ComputeThreads` when the work is large enough.
@inline(__always)
func rowChunks(_ rows: Int, rowLength: Int, _ body: (Range<Int>) -> Void) {
    if rows * rowLength < 1 << 14 || ComputeThreads.count == 1 { body(0..<rows); return }
    dynamicBlocks(rows, block: max(1, blockFloats / max(1, rowLength)), body)
}

/// Floats per item of the row and element passes (~128 KB: a few microseconds of work).
let blockFloats = 1 << 15

/// Calls `body` on the blocks of `block` items of `0..<count`, which the threads take as they come free
/// (`parallelItems`): with static halves, a thread preempted by another process, or a Dispatch worker
/// woken late, kept the other waiting at the join of every pass. Only for bodies whose results per item
/// do not depend on the block (row and element passes).
func dynamicBlocks(_ count: Int, block: Int, _ body: (Range<Int>) -> Void) {
    let blocks = (count + block - 1) / block
    if blocks <= 1 || ComputeThreads.count == 1 { if count > 0 { body(0..<count) }; return }
    parallelItems(blocks) { b in body((b * block)..<min(count, (b + 1) * block)) }
}

/// `dynamicBlocks` for an element pass over `count` floats (small passes run inline).
func elementBlocks(_ count: Int, _ body: (Range<Int>) -> Void) {
    if count < 1 << 16 || ComputeThreads.count == 1 { body(0..<count); return }
    dynamicBlocks(count, block: blockFloats, body)
}

// MARK: LayerNorm (no affine)

/// LayerNorm of every row of length `d` (biased variance, eps inside the sqrt, PyTorch
/// `nn.LayerNorm(d, elementwise_affine=False)`). Returns the output and 1/std per row.
public func layerNormForward(_ x: Tensor, eps: Float) -> (out: Tensor, rstd: [Float]) {
    let d = x.shape.last!, rows = x.count / max(1, d)
    var rstd = [Float](repeating: 0, count: rows)
    let out = [Float].uninitialized(x.count) { op in
        x.data.withUnsafeBufferPointer { xp in
            rstd.withUnsafeMutableBufferPointer { rp in
                let (xb, ob, rb) = (UnsafeSendable(xp.baseAddress!), UnsafeSendable(op), UnsafeSendable(rp.baseAddress!))
                rowChunks(rows, rowLength: d) { r in
                    for i in r {
                        let (mu, rs) = groupStatistics(xb.value + i * d, d, eps: eps)
                        normRow(xb.value + i * d, ob.value + i * d, d, F8(repeating: rs), F8(repeating: -mu * rs))
                        rb.value[i] = rs
                    }
                }
            }
        }
    }
    return (Tensor(shape: x.shape, data: out), rstd)
}

/// The LayerNorm pullback from the saved output y = x̂ and 1/std:
/// dx = rstd (g - mean(g) - x̂ mean(g x̂)).
public func layerNormBackward(_ y: Tensor, _ g: Tensor, rstd: [Float]) -> Tensor {
    let d = y.shape.last!, rows = y.count / max(1, d)
    let dx = [Float].uninitialized(y.count) { op in
        y.data.withUnsafeBufferPointer { yp in
            g.data.withUnsafeBufferPointer { gp in
                rstd.withUnsafeBufferPointer { rp in
                    let (yb, gb, ob, rb) = (UnsafeSendable(yp.baseAddress!), UnsafeSendable(gp.baseAddress!),
                                            UnsafeSendable(op), UnsafeSendable(rp.baseAddress!))
                    rowChunks(rows, rowLength: d) { r in
                        for i in r {
                            let yr = yb.value + i * d, gr = gb.value + i * d, o = ob.value + i * d
                            var sg = F8(repeating: 0), sgy = F8(repeating: 0)
                            var t = 0
                            while t < d {
                                let c = min(8, d - t)
                                let gv = load8(gr + t, c)
                                sg += gv; sgy = sgy.addingProduct(gv, load8(yr + t, c)); t += 8
                            }
                            let mg = sg.sum() / Float(d), mgy = sgy.sum() / Float(d), rs = rb.value[i]
                            t = 0
                            while t < d {
                                let c = min(8, d - t)
                                let v = (load8(gr + t, c) - F8(repeating: mg) - load8(yr + t, c) * mgy) * rs
                                store8(v, o + t, c); t += 8
                            }
                        }
                    }
                }
            }
        }
    }
    return Tensor(shape: y.shape, data: dx)
}

// MARK: Softmax

/// In-place softmax of one row of `n` values; returns log(sum(exp(x))) (max included).
@inline(__always)
func softmaxRow(_ p: UnsafeMutablePointer<Float>, _ n: Int) -> Float {
    var mv = F8(repeating: -.infinity)
    var t = 0
    while t + 8 <= n { mv = pointwiseMax(mv, UnsafeRawPointer(p + t).loadUnaligned(as: F8.self)); t += 8 }
    var m = mv.max()
    while t < n { m = max(m, p[t]); t += 1 }
    let m8 = F8(repeating: m)
    var s8 = F8(repeating: 0)
    t = 0
    while t + 8 <= n {
        let e = exp8(UnsafeRawPointer(p + t).loadUnaligned(as: F8.self) - m8)
        UnsafeMutableRawPointer(p + t).storeBytes(of: e, as: F8.self)
        s8 += e; t += 8
    }
    if t < n {
        let c = n - t
        let e = exp8(load8(p + t, c) - m8).replacing(with: 0, where: laneIndex .>= Int32(c))
        store8(e, p + t, c); s8 += e
    }
    let s = s8.sum(), inv = F8(repeating: 1 / s)
    t = 0
    while t < n { let c = min(8, n - t); store8(load8(p + t, c) * inv, p + t, c); t += 8 }
    return m + logf(s)
}

/// p[i] = exp(p[i] - lse) over one row (the softmax recomputed from its log-sum-exp).
@inline(__always)
func expShiftedRow(_ p: UnsafeMutablePointer<Float>, _ n: Int, _ lse: Float) {
    let l = F8(repeating: lse)
    var t = 0
    while t < n { let c = min(8, n - t); store8(exp8(load8(p + t, c) - l), p + t, c); t += 8 }
}

/// Softmax over the last axis.
public func softmaxForward(_ x: Tensor) -> Tensor {
    let d = x.shape.last!, rows = x.count / max(1, d)
    var out = x.data
    out.withUnsafeMutableBufferPointer { op in
        let ob = UnsafeSendable(op.baseAddress!)
        rowChunks(rows, rowLength: d) { r in for i in r { _ = softmaxRow(ob.value + i * d, d) } }
    }
    return Tensor(shape: x.shape, data: out)
}

/// In place over one row: g <- y (g - <g, y>) (the softmax pullback).
@inline(__always)
func softmaxBackwardRow(_ y: UnsafePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ n: Int) {
    var s8 = F8(repeating: 0)
    var t = 0
    while t < n { let c = min(8, n - t); s8 = s8.addingProduct(load8(y + t, c), load8(g + t, c)); t += 8 }
    let s = F8(repeating: s8.sum())
    t = 0
    while t < n { let c = min(8, n - t); store8(load8(y + t, c) * (load8(g + t, c) - s), g + t, c); t += 8 }
}

/// The softmax pullback from the saved output y.
public func softmaxBackward(_ y: Tensor, _ g: Tensor) -> Tensor {
    let d = y.shape.last!, rows = y.count / max(1, d)
    var dx = g.data
    y.data.withUnsafeBufferPointer { yp in
        dx.withUnsafeMutableBufferPointer { dp in
            let (yb, db) = (UnsafeSendable(yp.baseAddress!), UnsafeSendable(dp.baseAddress!))
            rowChunks(rows, rowLength: d) { r in for i in r { softmaxBackwardRow(yb.value + i * d, db.value + i * d, d) } }
        }
    }
    return Tensor(shape: y.shape, data: dx)
}

// MARK: GELU (tanh approximation)

/// sqrt(2/pi) and the cubic coefficient of PyTorch's `gelu(approximate="tanh")`.
let geluK0: Float = 0.797_884_560_802_865_4, geluK1: Float = 0.044_715

/// tanh(u) = 1 - 2 / (1 + exp(2u)), eight lanes.
@inline(__always)
func tanh8(_ u: F8) -> F8 { 1 - 2 / (1 + exp8(u + u)) }

/// y = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
@inline(__always)
func geluRange(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ range: Range<Int>) {
    var i = range.lowerBound
    while i < range.upperBound {
        let c = min(8, range.upperBound - i)
        let v = load8(x + i, c)
        let u = F8(repeating: geluK0) * v.addingProduct(F8(repeating: geluK1) * v * v, v)
        store8(0.5 * v * (1 + tanh8(u)), out + i, c)
        i += 8
    }
}

/// dx = g (0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2)), t = tanh(u).
@inline(__always)
func geluBackwardRange(_ x: UnsafePointer<Float>, _ g: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                       _ range: Range<Int>) {
    var i = range.lowerBound
    while i < range.upperBound {
        let c = min(8, range.upperBound - i)
        let v = load8(x + i, c), gv = load8(g + i, c)
        let v2 = v * v
        let u = F8(repeating: geluK0) * v.addingProduct(F8(repeating: geluK1) * v2, v)
        let t = tanh8(u)
        let du = F8(repeating: geluK0) * (1 + F8(repeating: 3 * geluK1) * v2)
        store8(gv * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * du), dx + i, c)
        i += 8
    }
}

/// GELU (tanh approximation) on a plain tensor.
public func geluForward(_ x: Tensor) -> Tensor {
    let n = x.count
    let out = [Float].uninitialized(n) { op in
        x.data.withUnsafeBufferPointer { xp in
            let (xb, ob) = (UnsafeSendable(xp.baseAddress!), UnsafeSendable(op))
            elementBlocks(n) { r in geluRange(xb.value, ob.value, r) }
        }
    }
    return Tensor(shape: x.shape, data: out)
}

// MARK: Index permutations (patchify / unpatchify)

/// out[n, k] = x[n, map[k]] for every sample n (a per-sample gather).
func gatherSamples(_ x: Tensor, _ map: [Int], outShape: [Int]) -> Tensor {
    let n = x.shape[0], inner = map.count
    precondition(x.count == n * inner, "gatherSamples: \(x.shape) with \(inner) per sample")
    let out = [Float].uninitialized(x.count) { op in
        x.data.withUnsafeBufferPointer { xp in
            map.withUnsafeBufferPointer { mp in
                let (xb, ob, mb) = (UnsafeSendable(xp.baseAddress!), UnsafeSendable(op), UnsafeSendable(mp.baseAddress!))
                let body = { (r: Range<Int>) in
                    for s in r {
                        let src = xb.value + s * inner, dst = ob.value + s * inner
                        for k in 0..<inner { dst[k] = src[mb.value[k]] }
                    }
                }
                if x.count < 1 << 14 || ComputeThreads.count == 1 { body(0..<n) } else { dynamicBlocks(n, block: 1, body) }
            }
        }
    }
    return Tensor(shape: outShape, data: out)
}

/// The inverse of a permutation map.
func invertPermutation(_ map: [Int]) -> [Int] {
    var inv = [Int](repeating: 0, count: map.count)
    for (k, s) in map.enumerated() { inv[s] = k }
    return inv
}

/// For [c, H, W] images in p x p patches: token t = i (W/p) + j, feature c p p + a p + b (the order of
/// a stride-p conv's flattened weight, DiT's PatchEmbed) reads pixel (c, i p + a, j p + b).
func patchifyMap(channels c: Int, height h: Int, width w: Int, patch p: Int) -> [Int] {
    let (gh, gw) = (h / p, w / p), f = c * p * p
    var map = [Int](repeating: 0, count: c * h * w)
    for i in 0..<gh { for j in 0..<gw { for ch in 0..<c { for a in 0..<p { for b in 0..<p {
        map[(i * gw + j) * f + ch * p * p + a * p + b] = ch * h * w + (i * p + a) * w + (j * p + b)
    } } } } }
    return map
}

/// DiT's unpatchify: tokens [T, p p c] with feature a p c + b c + ch (x.reshape(h, w, p, p, c) then
/// einsum nhwpqc->nchpwq) to an image [c, h p, w p]; entry k of the map is the token-feature index
/// that output pixel k reads.
func unpatchifyMap(channels c: Int, height h: Int, width w: Int, patch p: Int) -> [Int] {
    let (gh, gw) = (h / p, w / p), f = c * p * p
    var map = [Int](repeating: 0, count: c * h * w)
    for ch in 0..<c { for i in 0..<gh { for a in 0..<p { for j in 0..<gw { for b in 0..<p {
        map[ch * h * w + (i * p + a) * w + (j * p + b)] = (i * gw + j) * f + a * p * c + b * c + ch
    } } } } }
    return map
}
