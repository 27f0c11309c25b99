/// Group normalisation, PyTorch `nn.GroupNorm(groups, c, eps)` with affine weight and bias [c];
/// with `silu`, SiLU(GroupNorm(x)) as one fused op (one pass each way, no intermediate tensor).
public func groupNorm(_ x: Var, groups: Int, weight: Var, bias: Var, eps: Float = 1e-5, silu: Bool = false) -> Var {
    let (xv, wv, bv) = (x.value, weight.value, bias.value)
    let (out, saved) = groupNormForward(xv, groups: groups, weight: wv, bias: bv, eps: eps, silu: silu)
    return x.tape.record(out, parents: [x, weight, bias]) { g, _ in
        let r = groupNormBackward(xv, g, groups: groups, weight: wv, bias: bv, silu: silu, saved: saved)
        return [r.input, r.weight, r.bias]
    }
}

/// `groupNorm(concatChannels(parts...), ...)` without the concatenation: the parts are read in place and the
/// backward writes each part's gradient directly (the same values as concatenating, then slicing the gradient).
public func groupNorm(parts: [Var], groups: Int, weight: Var, bias: Var, eps: Float = 1e-5, silu: Bool = false) -> Var {
    let (xs, wv, bv) = (parts.map(\.value), weight.value, bias.value)
    let (out, saved) = groupNormForward(parts: xs, groups: groups, weight: wv, bias: bv, eps: eps, silu: silu)
    return weight.tape.record(out, parents: parts + [weight, bias]) { g, _ in
        let r = groupNormBackward(parts: xs, g, groups: groups, weight: wv, bias: bv, silu: silu, saved: saved)
        return r.inputs.map { Optional($0) } + [r.weight, r.bias]
    }
}
