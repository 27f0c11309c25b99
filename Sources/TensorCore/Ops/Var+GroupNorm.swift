/// Group normalisation, PyTorch `nn.GroupNorm(groups, c, eps)` with affine weight and bias [c].
public func groupNorm(_ x: Var, groups: Int, weight: Var, bias: Var, eps: Float = 1e-5) -> Var {
    let (xv, wv) = (x.value, weight.value)
    let (out, saved) = groupNormForward(xv, groups: groups, weight: wv, bias: bias.value, eps: eps)
    return x.tape.record(out, parents: [x, weight, bias]) { g, _ in
        let r = groupNormBackward(xv, g, groups: groups, weight: wv, saved: saved)
        return [r.input, r.weight, r.bias]
    }
}
