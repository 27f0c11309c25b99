import CGEMM
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

// MARK: Column and row sums (bias and modulation gradients)

/// o[j] += a[j] (or a[j] * b[j]) for j in 0..<count, eight lanes at a time. Each element's sum keeps
/// the plain loop's order and roundings (product, then add), so the bits are the scalar loop's; the
/// compiler left that loop scalar (the pointers may alias).
@inline(__always)
func accumulateRow(_ o: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, times b: UnsafePointer<Float>?, _ count: Int) {
    if rowPassesInC { crow_accumulate(o, a, b, count) } else { accumulateRow8(o, a, times: b, count) }
}

/// Whether the transformer ops' row passes (LayerNorm-modulate, attention's dS, the row helpers) run on
/// `CGEMM`'s AVX-512 copies (clayernorm.h, cattention.h, crows.h): the same operations per element and the
/// same partial sums, so the same bits; the 8-lane Swift loops' per-chunk bookkeeping (a partial-chunk check
/// every eight values) was most of these passes' time.
let rowPassesInC = cgemm_avx512() != 0

/// `accumulateRow` in 8-lane Swift (no AVX-512; the C copy's reference).
@inline(__always)
func accumulateRow8(_ o: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, times b: UnsafePointer<Float>?, _ count: Int) {
    var j = 0
    if let b {
        while j < count { let c = min(8, count - j); store8(load8(o + j, c) + load8(a + j, c) * load8(b + j, c), o + j, c); j += 8 }
    } else {
        while j < count { let c = min(8, count - j); store8(load8(o + j, c) + load8(a + j, c), o + j, c); j += 8 }
    }
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

// MARK: LayerNorm then adaLN modulation (DiT), one row pass

/// out = LN(x) (1 + scale) + shift per token row of x [n, T, d] with per-sample shift and scale [n, d]:
/// `modulate(layerNorm(x))` in one pass with the same arithmetic (same bits). Keeps x̂ = LN(x) and 1/std
/// for a backward (`keepNormalized`); inference writes only the output.
public func layerNormModulateForward(_ x: Tensor, eps: Float, shift: Tensor, scale: Tensor, keepNormalized: Bool)
    -> (out: Tensor, normalized: Tensor?, rstd: [Float]) {
    let (n, t, d) = tokenLayout(x, shift, "layerNormModulate")
    precondition(scale.shape == shift.shape, "layerNormModulate: scale \(scale.shape) vs shift \(shift.shape)")
    var rstd = [Float](repeating: 0, count: keepNormalized ? n * t : 0)
    var xhat = keepNormalized ? [Float].uninitialized(x.count) { _ in } : []
    let out = [Float].uninitialized(x.count) { op in
        x.data.withUnsafeBufferPointer { xp in shift.data.withUnsafeBufferPointer { hp in scale.data.withUnsafeBufferPointer { cp in
        xhat.withUnsafeMutableBufferPointer { yp in rstd.withUnsafeMutableBufferPointer { rp in
            let (xb, hb, cb, ob) = (UnsafeSendable(xp.baseAddress!), UnsafeSendable(hp.baseAddress!),
                                    UnsafeSendable(cp.baseAddress!), UnsafeSendable(op))
            let (yb, rb) = (UnsafeSendable(keepNormalized ? yp.baseAddress : nil), UnsafeSendable(keepNormalized ? rp.baseAddress : nil))
            forEachTokenRow(n, t, d) { s, row in
                let rs = layerNormModulateRow(xb.value + row, yb.value.map { $0 + row }, ob.value + row, d, eps: eps,
                                              scale: cb.value + s * d, shift: hb.value + s * d)
                if let r = rb.value { r[row / d] = rs }
            }
        }}}}}
    }
    return (Tensor(shape: x.shape, data: out), keepNormalized ? Tensor(shape: x.shape, data: xhat) : nil, rstd)
}

/// The pullback of `layerNormModulateForward` from the output gradient g, the saved x̂ and 1/std, in one row
/// pass over g and x̂: d x (the LayerNorm pullback of dx̂ = g (1 + scale), dx̂ formed in registers) and the
/// per-sample sums d shift = Σ_tokens g and d scale = Σ_tokens g x̂, each only when asked. Same bits as the
/// separate pullbacks and `tokenSums` (each sum runs over its sample's rows in order, from zero).
public func layerNormModulateBackward(_ y: Tensor, _ g: Tensor, rstd: [Float], scale: Tensor, needInput: Bool = true,
                                      needShift: Bool = false, needScale: Bool = false)
    -> (input: Tensor?, shift: Tensor?, scale: Tensor?) {
    let (n, t, d) = tokenLayout(y, scale, "layerNormModulateBackward")
    var dshift = [Float](repeating: 0, count: needShift ? n * d : 0), dscale = [Float](repeating: 0, count: needScale ? n * d : 0)
    var dx = needInput ? [Float].uninitialized(y.count) { _ in } : []
    dx.withUnsafeMutableBufferPointer { dxp in
        let op = dxp.baseAddress
        y.data.withUnsafeBufferPointer { yp in g.data.withUnsafeBufferPointer { gp in
        rstd.withUnsafeBufferPointer { rp in scale.data.withUnsafeBufferPointer { cp in
        dshift.withUnsafeMutableBufferPointer { hp in dscale.withUnsafeMutableBufferPointer { sp in
            let (yb, gb, ob, rb, cb) = (UnsafeSendable(yp.baseAddress!), UnsafeSendable(gp.baseAddress!), UnsafeSendable(needInput ? op : nil),
                                        UnsafeSendable(rp.baseAddress), UnsafeSendable(cp.baseAddress!))
            // An empty array may still have a base address: only the asked-for sums get one.
            let (hb, sb) = (UnsafeSendable(needShift ? hp.baseAddress : nil), UnsafeSendable(needScale ? sp.baseAddress : nil))
            forEachTokenRow(n, t, d) { s, row in
                let dx = ob.value.map { $0 + row }   // rstd is read only with dx (it may be empty without)
                layerNormModulateBackwardRow(gb.value + row, yb.value + row, d, scale: cb.value + s * d,
                                             dshift: hb.value.map { $0 + s * d }, dscale: sb.value.map { $0 + s * d },
                                             rstd: dx == nil ? nil : rb.value.map { $0[row / d] }, dx: dx)
            }
        }}}}}}
    }
    return (needInput ? Tensor(shape: y.shape, data: dx) : nil, needShift ? Tensor(shape: [n, d], data: dshift) : nil,
            needScale ? Tensor(shape: [n, d], data: dscale) : nil)
}

/// One row of `layerNormModulateForward`: out = LN(x) (1 + scale) + shift, x̂ into `y` when given; returns 1/std.
@inline(__always)
func layerNormModulateRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>?, _ o: UnsafeMutablePointer<Float>, _ d: Int,
                          eps: Float, scale: UnsafePointer<Float>, shift: UnsafePointer<Float>) -> Float {
    guard rowPassesInC else { return layerNormModulateRow8(x, y, o, d, eps: eps, scale: scale, shift: shift) }
    // The C copy returns the Swift accumulators' partials; `sum()` here keeps their bits.
    var p = F8(repeating: 0)
    withUnsafeMutableBytes(of: &p) { cln_sum_partials(x, Int32(d), $0.baseAddress!.assumingMemoryBound(to: Float.self)) }
    let mu = p.sum() / Float(d)
    withUnsafeMutableBytes(of: &p) { cln_deviation_partials(x, Int32(d), mu, $0.baseAddress!.assumingMemoryBound(to: Float.self)) }
    let rs = 1 / (p.sum() / Float(d) + eps).squareRoot()
    cln_modulate_row(x, y, o, Int32(d), rs, -mu * rs, scale, shift)
    return rs
}

/// `layerNormModulateRow` in 8-lane Swift (CPUs without AVX-512, and the reference its C copy is tested against).
@inline(__always)
func layerNormModulateRow8(_ x: UnsafePointer<Float>, _ yOut: UnsafeMutablePointer<Float>?, _ o: UnsafeMutablePointer<Float>, _ d: Int,
                           eps: Float, scale: UnsafePointer<Float>, shift: UnsafePointer<Float>) -> Float {
    let (mu, rs) = groupStatistics(x, d, eps: eps)
    let y = yOut ?? o
    normRow(x, y, d, F8(repeating: rs), F8(repeating: -mu * rs))
    var j = 0
    while j < d { let c = min(8, d - j); store8(load8(y + j, c) * (1 + load8(scale + j, c)) + load8(shift + j, c), o + j, c); j += 8 }
    return rs
}

/// One row of `layerNormModulateBackward`: dshift += g, dscale += g x̂ (each when given), and dx from
/// g, x̂ = y and the row's 1/std (when both are given).
@inline(__always)
func layerNormModulateBackwardRow(_ g: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ d: Int, scale: UnsafePointer<Float>,
                                  dshift: UnsafeMutablePointer<Float>?, dscale: UnsafeMutablePointer<Float>?, rstd: Float?,
                                  dx: UnsafeMutablePointer<Float>?) {
    guard rowPassesInC else {
        return layerNormModulateBackwardRow8(g, y, d, scale: scale, dshift: dshift, dscale: dscale, rstd: rstd, dx: dx)
    }
    var sg = F8(repeating: 0), sgy = F8(repeating: 0)
    withUnsafeMutableBytes(of: &sg) { a in withUnsafeMutableBytes(of: &sgy) { b in
        cln_backward_sums(g, y, scale, Int32(d), dshift, dscale, a.baseAddress!.assumingMemoryBound(to: Float.self),
                          b.baseAddress!.assumingMemoryBound(to: Float.self))
    }}
    guard let dx, let rs = rstd else { return }
    cln_backward_row(g, y, scale, Int32(d), sg.sum() / Float(d), sgy.sum() / Float(d), rs, dx)
}

/// `layerNormModulateBackwardRow` in 8-lane Swift (no AVX-512; the C copy's reference).
@inline(__always)
func layerNormModulateBackwardRow8(_ gr: UnsafePointer<Float>, _ yr: UnsafePointer<Float>, _ d: Int, scale cr: UnsafePointer<Float>,
                                   dshift: UnsafeMutablePointer<Float>?, dscale: UnsafeMutablePointer<Float>?, rstd: Float?,
                                   dx: UnsafeMutablePointer<Float>?) {
    if let h = dshift { accumulateRow8(h, gr, times: nil, d) }
    if let c = dscale { accumulateRow8(c, gr, times: yr, d) }
    guard let o = dx, let rs = rstd else { return }
    var sg = F8(repeating: 0), sgy = F8(repeating: 0)
    var j = 0
    while j < d {
        let c = min(8, d - j)
        let gv = load8(gr + j, c) * (1 + load8(cr + j, c))
        sg += gv; sgy = sgy.addingProduct(gv, load8(yr + j, c)); j += 8
    }
    let mg = sg.sum() / Float(d), mgy = sgy.sum() / Float(d)
    j = 0
    while j < d {
        let c = min(8, d - j)
        let gv = load8(gr + j, c) * (1 + load8(cr + j, c))
        store8((gv - F8(repeating: mg) - load8(yr + j, c) * mgy) * rs, o + j, c); j += 8
    }
}

// MARK: Softmax

/// In-place softmax of one row of `n` values; returns log(sum(exp(x))) (max included).
@inline(__always)
func softmaxRow(_ p: UnsafeMutablePointer<Float>, _ n: Int) -> Float {
    let (m, s) = expRow(p, n)
    let inv = F8(repeating: 1 / s)
    var t = 0
    while t < n { let c = min(8, n - t); store8(load8(p + t, c) * inv, p + t, c); t += 8 }
    return m + logf(s)
}

/// p[i] <- exp(p[i] - max) in place over one row; returns the max and the sum of the exps (the softmax
/// without its normalising pass: attention scales its output rows by 1 / sum instead).
@inline(__always)
func expRow(_ p: UnsafeMutablePointer<Float>, _ n: Int) -> (max: Float, sum: Float) {
    guard geluInC else { return expRow8(p, n) }
    // `CGEMM`'s AVX-512 copy: the same exps and the same eight partial sums, added here as below.
    var partials = F8(repeating: 0)
    let m = withUnsafeMutableBytes(of: &partials) { cexp_row(p, Int32(n), $0.baseAddress!.assumingMemoryBound(to: Float.self)) }
    return (m, partials.sum())
}

/// `expRow` in 8-lane Swift (CPUs without AVX-512, and the reference its C copy is tested against).
@inline(__always)
func expRow8(_ p: UnsafeMutablePointer<Float>, _ n: Int) -> (max: Float, sum: Float) {
    var mv = F8(repeating: -.infinity)
    var t = 0
    while t + 8 <= n { mv = max8(mv, UnsafeRawPointer(p + t).loadUnaligned(as: F8.self)); t += 8 }
    var m = maxLane(mv)
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
    return (m, s8.sum())
}

/// Lane-wise maximum as compare + blend: the standard library's `pointwiseMax` (IEEE maximum, NaN rules)
/// compiled to a scalar loop over the lanes and made the attention softmax ~3x slower (perf, s14).
@inline(__always)
func max8(_ a: F8, _ b: F8) -> F8 { a.replacing(with: b, where: b .> a) }

/// The largest lane of `v` (halving by blends; `SIMD.max()` is a scalar loop here too).
@inline(__always)
func maxLane(_ v: F8) -> Float {
    let (a, b) = (v.lowHalf, v.highHalf)
    let m4 = a.replacing(with: b, where: b .> a)
    let (c, d) = (m4.lowHalf, m4.highHalf)
    let m2 = c.replacing(with: d, where: d .> c)
    return m2[1] > m2[0] ? m2[1] : m2[0]
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

/// GELU of eight lanes as x sigmoid(2u) = 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3): one exp
/// and one division (the tanh form needed a second add-divide-subtract chain). Large |x| stays finite:
/// exp8 clamps, so x -> -inf gives x / (1 + 2^127) -> -0 and x -> +inf gives x.
@inline(__always)
func gelu8(_ v: F8) -> F8 {
    let m2u = F8(repeating: -2 * geluK0) * v.addingProduct(F8(repeating: geluK1) * v * v, v)
    return v / (1 + exp8(m2u))
}

/// Whether GELU, its pullback and attention's exp rows run on `CGEMM`'s AVX-512 copies of `gelu8` /
/// `geluGrad8` / `expRow` (same bits; the 8-lane code ran out of registers: ~3% of a DiT step for GELU).
let geluInC = cgemm_avx512() != 0

/// y = gelu(x) over `range` (out may be x).
@inline(__always)
func geluRange(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ range: Range<Int>) {
    if geluInC { cgelu_forward(x + range.lowerBound, out + range.lowerBound, range.count) } else { geluRange8(x, out, range) }
}

/// dx = g gelu'(x) over `range` (dx may be g).
@inline(__always)
func geluBackwardRange(_ x: UnsafePointer<Float>, _ g: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                       _ range: Range<Int>) {
    if geluInC { cgelu_backward(x + range.lowerBound, g + range.lowerBound, dx + range.lowerBound, range.count) }
    else { geluBackwardRange8(x, g, dx, range) }
}

/// y = gelu(x) over `range`, four independent vectors per step (the exp and divide chains of
/// neighbouring vectors overlap), then single vectors and the tail; the same lane arithmetic in each.
@inline(__always)
func geluRange8(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ range: Range<Int>) {
    var i = range.lowerBound
    while i + 32 <= range.upperBound {
        let y0 = gelu8(load8(x + i, 8)), y1 = gelu8(load8(x + i + 8, 8))
        let y2 = gelu8(load8(x + i + 16, 8)), y3 = gelu8(load8(x + i + 24, 8))
        store8(y0, out + i, 8); store8(y1, out + i + 8, 8); store8(y2, out + i + 16, 8); store8(y3, out + i + 24, 8)
        i += 32
    }
    while i < range.upperBound {
        let c = min(8, range.upperBound - i)
        store8(gelu8(load8(x + i, c)), out + i, c)
        i += 8
    }
}

/// dx = g gelu'(x) with s = sigmoid(2u): gelu' = s + x s (1 - s) 2 du/dx, du/dx = sqrt(2/pi) (1 + 3 * 0.044715 x^2).
@inline(__always)
func geluGrad8(_ v: F8, _ gv: F8) -> F8 {
    let v2 = v * v
    let m2u = F8(repeating: -2 * geluK0) * v.addingProduct(F8(repeating: geluK1) * v2, v)
    let s = 1 / (1 + exp8(m2u))
    let du2 = F8(repeating: 2 * geluK0) * (1 + F8(repeating: 3 * geluK1) * v2)
    return gv * s.addingProduct(v * s * (1 - s), du2)
}

/// dx = g gelu'(x) over `range`, four vectors per step as `geluRange8`.
@inline(__always)
func geluBackwardRange8(_ x: UnsafePointer<Float>, _ g: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                        _ range: Range<Int>) {
    var i = range.lowerBound
    while i + 32 <= range.upperBound {
        let d0 = geluGrad8(load8(x + i, 8), load8(g + i, 8)), d1 = geluGrad8(load8(x + i + 8, 8), load8(g + i + 8, 8))
        let d2 = geluGrad8(load8(x + i + 16, 8), load8(g + i + 16, 8)), d3 = geluGrad8(load8(x + i + 24, 8), load8(g + i + 24, 8))
        store8(d0, dx + i, 8); store8(d1, dx + i + 8, 8); store8(d2, dx + i + 16, 8); store8(d3, dx + i + 24, 8)
        i += 32
    }
    while i < range.upperBound {
        let c = min(8, range.upperBound - i)
        store8(geluGrad8(load8(x + i, c), load8(g + i, c)), dx + i, c)
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

/// The GELU pullback g gelu'(x) on plain tensors.
public func geluBackward(_ x: Tensor, _ g: Tensor) -> Tensor {
    let n = x.count
    let dx = [Float].uninitialized(n) { out in
        x.data.withUnsafeBufferPointer { xp in
            g.data.withUnsafeBufferPointer { gp in
                let (xb, gb, ob) = (UnsafeSendable(xp.baseAddress!), UnsafeSendable(gp.baseAddress!), UnsafeSendable(out))
                elementBlocks(n) { r in geluBackwardRange(xb.value, gb.value, ob.value, r) }
            }
        }
    }
    return Tensor(shape: x.shape, data: dx)
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
