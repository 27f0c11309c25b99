// Group normalisation (Wu & He 2018) on NCHW, PyTorch semantics: biased variance, eps inside the sqrt.
// Forward saves the per-(sample, group) mean and 1/std for the backward pass (llm.c's layernorm style).
// Optionally fused with the SiLU that follows every GroupNorm in the UNet: one pass instead of two
// in both directions, and the backward recomputes the pre-activation from x instead of storing it.
// Eight lanes at a time; a row's tail goes through the same vector arithmetic zero-padded, so an
// element's bits depend only on its value and its group's statistics, not on where it sits.

import CConv

public struct GroupNormSaved: Sendable {
    public let mean: [Float]   // [n * groups]
    public let rstd: [Float]   // [n * groups]
}

/// Up to eight floats from `p` (lanes past `count` are 0).
@inline(__always)
func load8(_ p: UnsafePointer<Float>, _ count: Int) -> F8 {
    if count >= 8 { return UnsafeRawPointer(p).loadUnaligned(as: F8.self) }
    var v = F8(repeating: 0)
    for i in 0..<count { v[i] = p[i] }
    return v
}

/// Stores the first `min(count, 8)` lanes of `v` at `p`.
@inline(__always)
func store8(_ v: F8, _ p: UnsafeMutablePointer<Float>, _ count: Int) {
    if count >= 8 { UnsafeMutableRawPointer(p).storeBytes(of: v, as: F8.self); return }
    for i in 0..<count { p[i] = v[i] }
}

/// Mean and 1/std of `m` contiguous values (two passes: sum, then squared deviations).
@inline(__always)
func groupStatistics(_ x: UnsafePointer<Float>, _ m: Int, eps: Float) -> (mean: Float, rstd: Float) {
    let mu = rowSum(x, m) / Float(m)
    let mv = F8(repeating: mu)
    var q0 = F8(repeating: 0), q1 = F8(repeating: 0)
    var i = 0
    while i + 16 <= m {
        let d0 = load8(x + i, 8) - mv, d1 = load8(x + i + 8, 8) - mv
        q0 = q0.addingProduct(d0, d0); q1 = q1.addingProduct(d1, d1); i += 16
    }
    while i < m {
        let n = min(8, m - i)
        let d = (load8(x + i, n) - mv).replacing(with: 0, where: laneIndex .>= Int32(n))
        q0 = q0.addingProduct(d, d); i += 8
    }
    return (mu, 1 / ((q0 + q1).sum() / Float(m) + eps).squareRoot())
}

let laneIndex = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7)

/// o = x * a + b over `count` floats, eight lanes at a time (the tail zero-padded).
@inline(__always)
func normRow(_ x: UnsafePointer<Float>, _ o: UnsafeMutablePointer<Float>, _ count: Int, _ a: F8, _ b: F8) {
    var t = 0
    while t < count {
        let cnt = min(8, count - t)
        store8(load8(x + t, cnt) * a + b, o + t, cnt)
        t += 8
    }
}

/// o = SiLU(x * a + b) over `count` floats: four independent vectors per step so the long exp and
/// divide chains of neighbouring vectors overlap (one vector per step was latency-bound), then
/// single vectors, then the zero-padded tail. Each lane's arithmetic is the same in every path.
@inline(__always)
func normSiluRow(_ x: UnsafePointer<Float>, _ o: UnsafeMutablePointer<Float>, _ count: Int, _ a: F8, _ b: F8) {
    var t = 0
    while t + 32 <= count {
        let z0 = load8(x + t, 8) * a + b, z1 = load8(x + t + 8, 8) * a + b
        let z2 = load8(x + t + 16, 8) * a + b, z3 = load8(x + t + 24, 8) * a + b
        let s0 = sigmoid8(z0), s1 = sigmoid8(z1), s2 = sigmoid8(z2), s3 = sigmoid8(z3)
        store8(z0 * s0, o + t, 8); store8(z1 * s1, o + t + 8, 8)
        store8(z2 * s2, o + t + 16, 8); store8(z3 * s3, o + t + 24, 8)
        t += 32
    }
    while t < count {
        let cnt = min(8, count - t)
        let z = load8(x + t, cnt) * a + b
        store8(z * sigmoid8(z), o + t, cnt)
        t += 8
    }
}

/// dz = dy * SiLU'(z), z = ((x - mean) * rstd) * gamma + beta, over one channel row: four independent vectors
/// per step (as `normSiluRow`), then single vectors, then the zero-padded tail.
@inline(never)
func siluGradRow(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dz: UnsafeMutablePointer<Float>,
                 _ count: Int, _ mu: F8, _ rv: F8, _ gv: F8, _ bv: F8) {
    let one = F8(repeating: 1)
    var t = 0
    while t + 32 <= count {
        let z0 = ((load8(x + t, 8) - mu) * rv) * gv + bv, z1 = ((load8(x + t + 8, 8) - mu) * rv) * gv + bv
        let z2 = ((load8(x + t + 16, 8) - mu) * rv) * gv + bv, z3 = ((load8(x + t + 24, 8) - mu) * rv) * gv + bv
        let e0 = sigmoid8(z0), e1 = sigmoid8(z1), e2 = sigmoid8(z2), e3 = sigmoid8(z3)
        store8(load8(dy + t, 8) * e0 * (one + z0 * (one - e0)), dz + t, 8)
        store8(load8(dy + t + 8, 8) * e1 * (one + z1 * (one - e1)), dz + t + 8, 8)
        store8(load8(dy + t + 16, 8) * e2 * (one + z2 * (one - e2)), dz + t + 16, 8)
        store8(load8(dy + t + 24, 8) * e3 * (one + z3 * (one - e3)), dz + t + 24, 8)
        t += 32
    }
    while t < count {
        let cnt = min(8, count - t)
        let z = ((load8(x + t, cnt) - mu) * rv) * gv + bv, e = sigmoid8(z)
        store8(load8(dy + t, cnt) * e * (one + z * (one - e)), dz + t, cnt)
        t += 8
    }
}

/// First pass of the GroupNorm(+SiLU) backward over one channel row: with `dz` given, dz = dy * SiLU'(z)
/// stored there (`siluGradRow`), else dz = dy; returns (sum dz, sum dz * xhat), xhat = (x - mean) * rstd.
/// Row functions of their own, not inlined into the parallel closure: there the compiler split exp's integer
/// steps into scalar lanes (2.8 ns per element for the whole backward; 1.4 like this).
@inline(never)
func normBackwardSums(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dz: UnsafeMutablePointer<Float>?,
                      _ count: Int, mean: Float, rstd: Float, gamma: Float, beta: Float, vector: Bool) -> (Float, Float) {
    let mu = F8(repeating: mean), rv = F8(repeating: rstd)
    var d = dy
    if let dz {
        if vector {   // the AVX-512 row (same bits)
            cconv_silu_grad_row(x, dy, dz, count, mean, rstd, gamma, beta)
        } else {
            siluGradRow(x, dy, dz, count, mu, rv, F8(repeating: gamma), F8(repeating: beta))
        }
        d = UnsafePointer(dz)
    }
    var sd = F8(repeating: 0), sdx = F8(repeating: 0)
    var t = 0
    while t < count {
        let cnt = min(8, count - t)
        let xh = (load8(x + t, cnt) - mu) * rv, dv = load8(d + t, cnt)
        sd += dv; sdx = sdx.addingProduct(dv, xh)
        t += 8
    }
    return (sd.sum(), sdx.sum())
}

/// Second pass over one channel row: dx = rstd * (dz * gamma - meanA - xhat * meanB). `dz` may be `dx` itself.
@inline(never)
func normBackwardInput(_ x: UnsafePointer<Float>, _ dz: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                       _ count: Int, mean: Float, rstd: Float, gamma: Float, meanA: Float, meanB: Float) {
    let mu = F8(repeating: mean), rv = F8(repeating: rstd), gv = F8(repeating: gamma)
    let ma = F8(repeating: meanA), mb = F8(repeating: meanB)
    var t = 0
    while t < count {
        let cnt = min(8, count - t)
        let xh = (load8(x + t, cnt) - mu) * rv
        store8(rv * (load8(dz + t, cnt) * gv - ma - xh * mb), dx + t, cnt)
        t += 8
    }
}

/// The channels of [n, c, h, w] activations, held in one tensor or spread over several parts in channel order (a
/// channel concatenation read in place: a UNet decoder's [upsampled, skip]); each part is [n, c_i, h, w].
struct ChannelPlanes: @unchecked Sendable {
    let bases: [UnsafeMutablePointer<Float>], channels: [Int], hw: Int

    /// The hw floats of channel `c` of sample `s`.
    @inline(__always)
    func plane(_ s: Int, _ c: Int) -> UnsafeMutablePointer<Float> {
        var c = c
        for i in bases.indices {
            let k = channels[i]
            if c < k { return bases[i] + (s * k + c) * hw }
            c -= k
        }
        preconditionFailure("ChannelPlanes: channel out of range")
    }

    /// `count` channels from channel `c` of sample `s` as one run of floats, when they lie in one part.
    @inline(__always)
    func run(_ s: Int, _ c: Int, _ count: Int) -> UnsafeMutablePointer<Float>? {
        var c = c
        for i in bases.indices {
            let k = channels[i]
            if c < k { return c + count <= k ? bases[i] + (s * k + c) * hw : nil }
            c -= k
        }
        return nil
    }
}

/// The (n, c, hw) of the channel concatenation of `parts`, checked.
func concatenatedLayout(_ parts: [Tensor], _ what: String) -> (n: Int, c: Int, hw: Int) {
    precondition(!parts.isEmpty && parts.allSatisfy { $0.rank == 4 && $0.shape[0] == parts[0].shape[0]
                                                      && $0.shape[2...] == parts[0].shape[2...] },
                 "\(what): parts \(parts.map(\.shape)) do not concatenate along channels")
    let (n, _, hw) = parts[0].channelLayout
    return (n, parts.reduce(0) { $0 + $1.shape[1] }, hw)
}

/// Runs `body` with the planes of `parts` (read only).
func withChannelPlanes<R>(_ parts: [Tensor], _ body: (ChannelPlanes) -> R) -> R {
    func go(_ i: Int, _ acc: [UnsafeMutablePointer<Float>]) -> R {
        if i == parts.count {
            return body(ChannelPlanes(bases: acc, channels: parts.map { $0.shape[1] }, hw: parts[0].channelLayout.hw))
        }
        return parts[i].data.withUnsafeBufferPointer { go(i + 1, acc + [UnsafeMutablePointer(mutating: $0.baseAddress!)]) }
    }
    return go(0, [])
}

/// Runs `body` with the planes of `arrays` (writable; nil when there are none), `channels[i]` planes each.
func withMutableChannelPlanes<R>(_ arrays: inout [[Float]], channels: [Int], hw: Int, _ body: (ChannelPlanes?) -> R) -> R {
    if arrays.isEmpty { return body(nil) }
    // One buffer per part, taken out of `arrays` so that each is borrowed mutably on its own.
    var taken = arrays
    arrays = []
    defer { arrays = taken }
    func nest(_ i: Int, _ acc: [UnsafeMutablePointer<Float>]) -> R {
        if i == taken.count { return body(ChannelPlanes(bases: acc, channels: channels, hw: hw)) }
        var part = taken[i]
        taken[i] = []
        defer { taken[i] = part }
        return part.withUnsafeMutableBufferPointer { nest(i + 1, acc + [$0.baseAddress!]) }
    }
    return nest(0, [])
}

/// out = GroupNorm(x) (then SiLU when `silu`).
public func groupNormForward(_ x: Tensor, groups: Int, weight: Tensor, bias: Tensor, eps: Float, silu: Bool = false)
    -> (Tensor, GroupNormSaved) {
    groupNormForward(parts: [x], groups: groups, weight: weight, bias: bias, eps: eps, silu: silu)
}

/// GroupNorm(+SiLU) of the channel concatenation of `parts`, read in place (no concatenated copy): a group within
/// one part is read there, one spanning two is gathered into a scratch group first; the same bits as concatenating.
public func groupNormForward(parts: [Tensor], groups: Int, weight: Tensor, bias: Tensor, eps: Float, silu: Bool = false)
    -> (Tensor, GroupNormSaved) {
    let (n, c, hw) = concatenatedLayout(parts, "groupNorm")
    precondition(c % groups == 0 && weight.count == c && bias.count == c,
                 "groupNorm: \(c) channels, \(groups) groups, weight \(weight.shape)")
    let cpg = c / groups, m = cpg * hw
    var out = [Float].uninitialized(n * c * hw) { _ in }
    var mean = [Float](repeating: 0, count: n * groups), rstd = mean
    withChannelPlanes(parts) { x in
    out.withUnsafeMutableBufferPointer { op in
    mean.withUnsafeMutableBufferPointer { mp in
    rstd.withUnsafeMutableBufferPointer { rp in
    weight.data.withUnsafeBufferPointer { wp in
    bias.data.withUnsafeBufferPointer { bp in
        let ob = UnsafeSendable(op.baseAddress!)
        let mb = UnsafeSendable(mp.baseAddress!), rb = UnsafeSendable(rp.baseAddress!)
        let wb = UnsafeSendable(wp.baseAddress!), bb = UnsafeSendable(bp.baseAddress!)
        let vector = VectorConvKernels.enabled   // the AVX-512 row (same bits)
        parallelChunks(n * groups) { _, range in
            var scratch: UnsafeMutablePointer<Float>? = nil   // a group spanning two parts
            defer { scratch?.deallocate() }
            for ng in range {
                let base = ng * m, g0 = (ng % groups) * cpg, sample = ng / groups
                let run: UnsafeMutablePointer<Float>
                if let p = x.run(sample, g0, cpg) {
                    run = p
                } else {
                    if scratch == nil { scratch = .allocate(capacity: m) }
                    for cc in 0..<cpg { (scratch! + cc * hw).update(from: x.plane(sample, g0 + cc), count: hw) }
                    run = scratch!
                }
                let (mu, r) = groupStatistics(run, m, eps: eps)
                mb.value[ng] = mu; rb.value[ng] = r
                for cc in 0..<cpg {
                    let a = wb.value[g0 + cc] * r, b = bb.value[g0 + cc] - mu * a
                    let (av, bv) = (F8(repeating: a), F8(repeating: b))
                    let xo = UnsafePointer(x.plane(sample, g0 + cc)), oo = ob.value + base + cc * hw
                    if silu {
                        if vector { cconv_norm_silu_row(xo, oo, hw, a, b) } else { normSiluRow(xo, oo, hw, av, bv) }
                    } else {
                        normRow(xo, oo, hw, av, bv)
                    }
                }
            }
        }
    }}}}}}
    return (Tensor(shape: [n, c] + parts[0].shape[2...], data: out), GroupNormSaved(mean: mean, rstd: rstd))
}

/// Gradients of group norm (of SiLU(group norm) when `silu`; then `bias` must be given): dx, dweight, dbias.
public func groupNormBackward(_ x: Tensor, _ gOut: Tensor, groups: Int, weight: Tensor, bias: Tensor? = nil,
                              silu: Bool = false, saved: GroupNormSaved)
    -> (input: Tensor, weight: Tensor, bias: Tensor) {
    let r = groupNormBackward(parts: [x], gOut, groups: groups, weight: weight, bias: bias, silu: silu, saved: saved)
    return (r.inputs[0], r.weight, r.bias)
}

/// `groupNormBackward` for `groupNormForward(parts:)`: dx written straight into one gradient per part.
public func groupNormBackward(parts: [Tensor], _ gOut: Tensor, groups: Int, weight: Tensor, bias: Tensor? = nil,
                              silu: Bool = false, saved: GroupNormSaved)
    -> (inputs: [Tensor], weight: Tensor, bias: Tensor) {
    let (n, c, hw) = concatenatedLayout(parts, "groupNormBackward")
    let cpg = c / groups, m = cpg * hw
    precondition(!silu || bias?.count == c, "groupNormBackward: the fused SiLU needs the bias")
    let beta = bias?.data ?? [Float](repeating: 0, count: c)
    // Per-(sample, channel) sums of dz and dz*xhat, reduced over samples afterwards (deterministic).
    var sumDy = [Float](repeating: 0, count: n * c), sumDyXhat = sumDy
    // Every element of dx is written below.
    let dx = [Float].uninitialized(counts: parts.map(\.count)) { dxParts in
    let dp = ChannelPlanes(bases: dxParts, channels: parts.map { $0.shape[1] }, hw: hw)
    withChannelPlanes(parts) { xp in
    gOut.data.withUnsafeBufferPointer { gp in
    weight.data.withUnsafeBufferPointer { wp in
    beta.withUnsafeBufferPointer { bp in
    sumDy.withUnsafeMutableBufferPointer { s1p in
    sumDyXhat.withUnsafeMutableBufferPointer { s2p in
        let gb = UnsafeSendable(gp.baseAddress!)
        let wb = UnsafeSendable(wp.baseAddress!), bb = UnsafeSendable(bp.baseAddress!)
        let s1 = UnsafeSendable(s1p.baseAddress!), s2 = UnsafeSendable(s2p.baseAddress!)
        let mean = saved.mean, rstd = saved.rstd, vector = VectorConvKernels.enabled
        parallelChunks(n * groups) { _, range in
            for ng in range {
                let base = ng * m, mu = mean[ng], r = rstd[ng]
                let g0 = (ng % groups) * cpg, sample = ng / groups
                // dz = dy (or dy * SiLU'(z)); dxhat = dz * gamma;
                // dx = r * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)).
                var a: Float = 0, b: Float = 0
                for cc in 0..<cpg {
                    let gamma = wb.value[g0 + cc], off = base + cc * hw
                    let xo = UnsafePointer(xp.plane(sample, g0 + cc)), d = dp.plane(sample, g0 + cc)
                    let (sds, sdxs) = normBackwardSums(xo, gb.value + off, silu ? d : nil, hw,
                                                       mean: mu, rstd: r, gamma: gamma, beta: bb.value[g0 + cc],
                                                       vector: vector)
                    s1.value[sample * c + g0 + cc] = sds
                    s2.value[sample * c + g0 + cc] = sdxs
                    a += sds * gamma; b += sdxs * gamma
                }
                for cc in 0..<cpg {
                    let off = base + cc * hw
                    let xo = UnsafePointer(xp.plane(sample, g0 + cc)), d = dp.plane(sample, g0 + cc)
                    // With SiLU, dz was kept in dx by the first pass.
                    normBackwardInput(xo, silu ? UnsafePointer(d) : gb.value + off, d, hw,
                                      mean: mu, rstd: r, gamma: wb.value[g0 + cc], meanA: a / Float(m), meanB: b / Float(m))
                }
            }
        }
    }}}}}}}
    var dw = [Float](repeating: 0, count: c), dbias = dw
    for s in 0..<n { for j in 0..<c { dbias[j] += sumDy[s * c + j]; dw[j] += sumDyXhat[s * c + j] } }
    return (zip(parts, dx).map { Tensor(shape: $0.shape, data: $1) }, Tensor(shape: [c], data: dw), Tensor(shape: [c], data: dbias))
}
