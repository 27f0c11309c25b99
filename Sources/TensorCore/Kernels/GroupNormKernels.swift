// Group normalisation (Wu & He 2018) on NCHW, PyTorch semantics: biased variance, eps inside the sqrt.
// Forward saves the per-(sample, group) mean and 1/std for the backward pass (llm.c's layernorm style).
// Optionally fused with the SiLU that follows every GroupNorm in the UNet: one pass instead of two
// in both directions, and the backward recomputes the pre-activation from x instead of storing it.
// Eight lanes at a time; a row's tail goes through the same vector arithmetic zero-padded, so an
// element's bits depend only on its value and its group's statistics, not on where it sits.

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
    var s0 = F8(repeating: 0), s1 = F8(repeating: 0)
    var i = 0
    while i + 16 <= m { s0 += load8(x + i, 8); s1 += load8(x + i + 8, 8); i += 16 }
    while i < m { s0 += load8(x + i, m - i); i += 8 }
    let mu = (s0 + s1).sum() / Float(m)
    let mv = F8(repeating: mu)
    var q0 = F8(repeating: 0), q1 = F8(repeating: 0)
    i = 0
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

/// out = GroupNorm(x) (then SiLU when `silu`).
public func groupNormForward(_ x: Tensor, groups: Int, weight: Tensor, bias: Tensor, eps: Float, silu: Bool = false)
    -> (Tensor, GroupNormSaved) {
    let (n, c, hw) = x.channelLayout
    precondition(c % groups == 0 && weight.count == c && bias.count == c,
                 "groupNorm: \(c) channels, \(groups) groups, weight \(weight.shape)")
    let cpg = c / groups, m = cpg * hw
    var out = [Float].uninitialized(x.count) { _ in }
    var mean = [Float](repeating: 0, count: n * groups), rstd = mean
    x.data.withUnsafeBufferPointer { xp in
    out.withUnsafeMutableBufferPointer { op in
    mean.withUnsafeMutableBufferPointer { mp in
    rstd.withUnsafeMutableBufferPointer { rp in
    weight.data.withUnsafeBufferPointer { wp in
    bias.data.withUnsafeBufferPointer { bp in
        let xb = UnsafeSendable(xp.baseAddress!), ob = UnsafeSendable(op.baseAddress!)
        let mb = UnsafeSendable(mp.baseAddress!), rb = UnsafeSendable(rp.baseAddress!)
        let wb = UnsafeSendable(wp.baseAddress!), bb = UnsafeSendable(bp.baseAddress!)
        parallelChunks(n * groups) { _, range in
            for ng in range {
                let base = ng * m
                let (mu, r) = groupStatistics(xb.value + base, m, eps: eps)
                mb.value[ng] = mu; rb.value[ng] = r
                let g0 = (ng % groups) * cpg
                for cc in 0..<cpg {
                    let a = wb.value[g0 + cc] * r, b = bb.value[g0 + cc] - mu * a
                    let (av, bv) = (F8(repeating: a), F8(repeating: b))
                    let xo = xb.value + base + cc * hw, oo = ob.value + base + cc * hw
                    if silu { normSiluRow(xo, oo, hw, av, bv) } else { normRow(xo, oo, hw, av, bv) }
                }
            }
        }
    }}}}}}
    return (Tensor(shape: x.shape, data: out), GroupNormSaved(mean: mean, rstd: rstd))
}

/// Gradients of group norm (of SiLU(group norm) when `silu`; then `bias` must be given): dx, dweight, dbias.
public func groupNormBackward(_ x: Tensor, _ gOut: Tensor, groups: Int, weight: Tensor, bias: Tensor? = nil,
                              silu: Bool = false, saved: GroupNormSaved)
    -> (input: Tensor, weight: Tensor, bias: Tensor) {
    let (n, c, hw) = x.channelLayout
    let cpg = c / groups, m = cpg * hw
    precondition(!silu || bias?.count == c, "groupNormBackward: the fused SiLU needs the bias")
    let beta = bias?.data ?? [Float](repeating: 0, count: c)
    var dx = [Float].uninitialized(x.count) { _ in }   // every element is written below
    // Per-(sample, channel) sums of dz and dz*xhat, reduced over samples afterwards (deterministic).
    var sumDy = [Float](repeating: 0, count: n * c), sumDyXhat = sumDy
    x.data.withUnsafeBufferPointer { xp in
    gOut.data.withUnsafeBufferPointer { gp in
    weight.data.withUnsafeBufferPointer { wp in
    beta.withUnsafeBufferPointer { bp in
    dx.withUnsafeMutableBufferPointer { dp in
    sumDy.withUnsafeMutableBufferPointer { s1p in
    sumDyXhat.withUnsafeMutableBufferPointer { s2p in
        let xb = UnsafeSendable(xp.baseAddress!), gb = UnsafeSendable(gp.baseAddress!)
        let wb = UnsafeSendable(wp.baseAddress!), db = UnsafeSendable(dp.baseAddress!)
        let bb = UnsafeSendable(bp.baseAddress!)
        let s1 = UnsafeSendable(s1p.baseAddress!), s2 = UnsafeSendable(s2p.baseAddress!)
        let mean = saved.mean, rstd = saved.rstd
        parallelChunks(n * groups) { _, range in
            for ng in range {
                let base = ng * m, mu = F8(repeating: mean[ng]), r = rstd[ng], rv = F8(repeating: r)
                let g0 = (ng % groups) * cpg, sample = ng / groups
                // dz = dy (or dy * SiLU'(z)); dxhat = dz * gamma;
                // dx = r * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)).
                var a: Float = 0, b: Float = 0
                for cc in 0..<cpg {
                    let gamma = wb.value[g0 + cc], gv = F8(repeating: gamma), bv = F8(repeating: bb.value[g0 + cc])
                    let off = base + cc * hw
                    let xo = xb.value + off, go = gb.value + off, dzo = db.value + off
                    var sd = F8(repeating: 0), sdx = F8(repeating: 0)
                    var t = 0
                    if silu {
                        // Four vectors per step (independent sigmoid chains overlap), accumulated
                        // in the same order as the one-vector loop below: the same bits.
                        while t + 32 <= hw {
                            let x0 = (load8(xo + t, 8) - mu) * rv, x1 = (load8(xo + t + 8, 8) - mu) * rv
                            let x2 = (load8(xo + t + 16, 8) - mu) * rv, x3 = (load8(xo + t + 24, 8) - mu) * rv
                            let z0 = x0 * gv + bv, z1 = x1 * gv + bv, z2 = x2 * gv + bv, z3 = x3 * gv + bv
                            let e0 = sigmoid8(z0), e1 = sigmoid8(z1), e2 = sigmoid8(z2), e3 = sigmoid8(z3)
                            let d0 = load8(go + t, 8) * e0 * (1 + z0 * (1 - e0))
                            let d1 = load8(go + t + 8, 8) * e1 * (1 + z1 * (1 - e1))
                            let d2 = load8(go + t + 16, 8) * e2 * (1 + z2 * (1 - e2))
                            let d3 = load8(go + t + 24, 8) * e3 * (1 + z3 * (1 - e3))
                            store8(d0, dzo + t, 8); store8(d1, dzo + t + 8, 8)
                            store8(d2, dzo + t + 16, 8); store8(d3, dzo + t + 24, 8)
                            sd += d0; sdx = sdx.addingProduct(d0, x0)
                            sd += d1; sdx = sdx.addingProduct(d1, x1)
                            sd += d2; sdx = sdx.addingProduct(d2, x2)
                            sd += d3; sdx = sdx.addingProduct(d3, x3)
                            t += 32
                        }
                    }
                    while t < hw {
                        let cnt = min(8, hw - t)
                        let xh = (load8(xo + t, cnt) - mu) * rv
                        var dz = load8(go + t, cnt)
                        if silu {
                            let z = xh * gv + bv, s = sigmoid8(z)
                            dz = dz * s * (1 + z * (1 - s))
                            store8(dz, dzo + t, cnt)   // kept in dx until the second pass
                        }
                        sd += dz; sdx = sdx.addingProduct(dz, xh)
                        t += 8
                    }
                    let (sds, sdxs) = (sd.sum(), sdx.sum())
                    s1.value[sample * c + g0 + cc] = sds
                    s2.value[sample * c + g0 + cc] = sdxs
                    a += sds * gamma; b += sdxs * gamma
                }
                let ma = F8(repeating: a / Float(m)), mb = F8(repeating: b / Float(m))
                for cc in 0..<cpg {
                    let gv = F8(repeating: wb.value[g0 + cc])
                    let off = base + cc * hw
                    let xo = xb.value + off, dxo = db.value + off
                    let dzo = silu ? UnsafePointer(db.value + off) : gb.value + off
                    var t = 0
                    while t < hw {
                        let cnt = min(8, hw - t)
                        let xh = (load8(xo + t, cnt) - mu) * rv
                        store8(rv * (load8(dzo + t, cnt) * gv - ma - xh * mb), dxo + t, cnt)
                        t += 8
                    }
                }
            }
        }
    }}}}}}}
    var dw = [Float](repeating: 0, count: c), dbias = dw
    for s in 0..<n { for j in 0..<c { dbias[j] += sumDy[s * c + j]; dw[j] += sumDyXhat[s * c + j] } }
    return (Tensor(shape: x.shape, data: dx), Tensor(shape: [c], data: dw), Tensor(shape: [c], data: dbias))
}
