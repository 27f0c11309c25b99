// Group normalisation (Wu & He 2018) on NCHW, PyTorch semantics: biased variance, eps inside the sqrt.
// Forward saves the per-(sample, group) mean and 1/std for the backward pass (llm.c's layernorm style).

public struct GroupNormSaved: Sendable {
    public let mean: [Float]   // [n * groups]
    public let rstd: [Float]   // [n * groups]
}

public func groupNormForward(_ x: Tensor, groups: Int, weight: Tensor, bias: Tensor, eps: Float)
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
                let xs = xb.value + base
                var s: Float = 0, s2: Float = 0
                for i in 0..<m { s += xs[i] }
                let mu = s / Float(m)
                for i in 0..<m { let d = xs[i] - mu; s2 += d * d }
                let r = 1 / (s2 / Float(m) + eps).squareRoot()
                mb.value[ng] = mu; rb.value[ng] = r
                let g0 = (ng % groups) * cpg
                for cc in 0..<cpg {
                    let a = wb.value[g0 + cc] * r, b = bb.value[g0 + cc] - mu * a
                    let xo = xs + cc * hw, oo = ob.value + base + cc * hw
                    for t in 0..<hw { oo[t] = xo[t] * a + b }
                }
            }
        }
    }}}}}}
    return (Tensor(shape: x.shape, data: out), GroupNormSaved(mean: mean, rstd: rstd))
}

/// Gradients of group norm: dx, dweight, dbias.
public func groupNormBackward(_ x: Tensor, _ gOut: Tensor, groups: Int, weight: Tensor, saved: GroupNormSaved)
    -> (input: Tensor, weight: Tensor, bias: Tensor) {
    let (n, c, hw) = x.channelLayout
    let cpg = c / groups, m = cpg * hw
    var dx = [Float].uninitialized(x.count) { _ in }   // every element is written below
    // Per-(sample, channel) sums of dy and dy*xhat, reduced over samples afterwards (deterministic).
    var sumDy = [Float](repeating: 0, count: n * c), sumDyXhat = sumDy
    x.data.withUnsafeBufferPointer { xp in
    gOut.data.withUnsafeBufferPointer { gp in
    weight.data.withUnsafeBufferPointer { wp in
    dx.withUnsafeMutableBufferPointer { dp in
    sumDy.withUnsafeMutableBufferPointer { s1p in
    sumDyXhat.withUnsafeMutableBufferPointer { s2p in
        let xb = UnsafeSendable(xp.baseAddress!), gb = UnsafeSendable(gp.baseAddress!)
        let wb = UnsafeSendable(wp.baseAddress!), db = UnsafeSendable(dp.baseAddress!)
        let s1 = UnsafeSendable(s1p.baseAddress!), s2 = UnsafeSendable(s2p.baseAddress!)
        let mean = saved.mean, rstd = saved.rstd
        parallelChunks(n * groups) { _, range in
            for ng in range {
                let base = ng * m, mu = mean[ng], r = rstd[ng]
                let g0 = (ng % groups) * cpg, sample = ng / groups
                // dxhat = dy * gamma; dx = r * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
                var a: Float = 0, b: Float = 0
                for cc in 0..<cpg {
                    let gamma = wb.value[g0 + cc]
                    let xo = xb.value + base + cc * hw, go = gb.value + base + cc * hw
                    var sd: Float = 0, sdx: Float = 0
                    for t in 0..<hw {
                        let xh = (xo[t] - mu) * r
                        sd += go[t]; sdx += go[t] * xh
                    }
                    s1.value[sample * c + g0 + cc] = sd
                    s2.value[sample * c + g0 + cc] = sdx
                    a += sd * gamma; b += sdx * gamma
                }
                let ma = a / Float(m), mb = b / Float(m)
                for cc in 0..<cpg {
                    let gamma = wb.value[g0 + cc]
                    let xo = xb.value + base + cc * hw, go = gb.value + base + cc * hw
                    let dxo = db.value + base + cc * hw
                    for t in 0..<hw {
                        let xh = (xo[t] - mu) * r
                        dxo[t] = r * (go[t] * gamma - ma - xh * mb)
                    }
                }
            }
        }
    }}}}}}
    var dw = [Float](repeating: 0, count: c), dbias = dw
    for s in 0..<n { for j in 0..<c { dbias[j] += sumDy[s * c + j]; dw[j] += sumDyXhat[s * c + j] } }
    return (Tensor(shape: x.shape, data: dx), Tensor(shape: [c], data: dw), Tensor(shape: [c], data: dbias))
}
