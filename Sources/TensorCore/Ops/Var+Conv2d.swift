/// 2-D convolution, PyTorch `nn.Conv2d` semantics: x [n, cin, h, w], weight [cout, cin, k, k], bias [cout].
/// On a tape without pullbacks (inference) the weights' kernel layout is kept across calls (`PackedWeights`).
public func conv2d(_ x: Var, weight: Var, bias: Var?, stride: Int = 1, padding: Int = 0) -> Var {
    let (xv, wv) = (x.value, weight.value)
    let out = conv2dForward(xv, wv, bias?.value, stride: stride, pad: padding, keepPackedWeights: !x.tape.recordsPullbacks)
    let parents = bias.map { [x, weight, $0] } ?? [x, weight]
    return x.tape.record(out, parents: parents) { g, needs in
        let r = conv2dBackward(xv, wv, g, stride: stride, pad: padding,
                               needInput: needs[0], needWeight: needs[1], needBias: needs.count > 2 && needs[2])
        return needs.count > 2 ? [r.input, r.weight, r.bias] : [r.input, r.weight]
    }
}

/// `addSampleChannel(conv2d(x, weight, bias), sampleBias)` in one op: the per-sample shift
/// `sampleBias[n, cout]` is added in the conv's output pass (same rounding, same gradients).
public func conv2d(_ x: Var, weight: Var, bias: Var, sampleBias: Var, stride: Int = 1, padding: Int = 0) -> Var {
    let (xv, wv) = (x.value, weight.value)
    let out = conv2dForward(xv, wv, bias.value, stride: stride, pad: padding, sampleBias: sampleBias.value,
                            keepPackedWeights: !x.tape.recordsPullbacks)
    return x.tape.record(out, parents: [x, weight, bias, sampleBias]) { g, needs in
        let r = conv2dBackward(xv, wv, g, stride: stride, pad: padding,
                               needInput: needs[0], needWeight: needs[1], needBias: needs[2])
        return [r.input, r.weight, r.bias, needs[3] ? g.spatialSums() : nil]
    }
}

/// `residual + conv2d(x, weight, bias)` in one op: the sum is formed in the conv's output pass
/// (same rounding as a separate `+`, same gradients: the residual's is the output's).
public func conv2d(_ x: Var, weight: Var, bias: Var, residual: Var, stride: Int = 1, padding: Int = 0) -> Var {
    let (xv, wv) = (x.value, weight.value)
    let out = conv2dForward(xv, wv, bias.value, stride: stride, pad: padding, residual: residual.value,
                            keepPackedWeights: !x.tape.recordsPullbacks)
    return x.tape.record(out, parents: [x, weight, bias, residual]) { g, needs in
        let r = conv2dBackward(xv, wv, g, stride: stride, pad: padding,
                               needInput: needs[0], needWeight: needs[1], needBias: needs[2])
        return [r.input, r.weight, r.bias, needs[3] ? g : nil]
    }
}

/// A 1x1 conv of `concatChannels(parts...)` without the concatenation (`conv2dPointwiseForward(parts:)`); the
/// backward writes each part's gradient directly.
public func conv2d(parts: [Var], weight: Var, bias: Var) -> Var {
    let (xs, wv) = (parts.map(\.value), weight.value)
    let out = conv2dPointwiseForward(parts: xs, wv, bias.value)
    let k = parts.count
    return weight.tape.record(out, parents: parts + [weight, bias]) { g, needs in
        let r = conv2dPointwiseBackward(parts: xs, wv, g, needInput: needs[..<k].contains(true), needWeight: needs[k],
                                        needBias: needs[k + 1])
        let inputs: [Tensor?] = r.inputs.map { ts in ts.enumerated().map { needs[$0.offset] ? $0.element : nil } }
            ?? Array(repeating: nil, count: k)
        return inputs + [r.weight, r.bias]
    }
}
