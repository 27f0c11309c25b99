// Elementwise arithmetic on Vars. No implicit broadcasting: shapes must match, and the
// per-channel cases have their own explicit ops.

public func + (a: Var, b: Var) -> Var {
    a.tape.record(a.value + b.value, parents: [a, b]) { g, needs in
        [needs[0] ? g : nil, needs[1] ? g : nil]
    }
}

public func - (a: Var, b: Var) -> Var {
    a.tape.record(a.value - b.value, parents: [a, b]) { g, needs in
        [needs[0] ? g : nil, needs[1] ? g.map { -$0 } : nil]
    }
}

/// Elementwise product.
public func * (a: Var, b: Var) -> Var {
    let (av, bv) = (a.value, b.value)
    return a.tape.record(av * bv, parents: [a, b]) { g, needs in
        [needs[0] ? g * bv : nil, needs[1] ? g * av : nil]
    }
}

/// Multiplication by a constant.
public func * (a: Var, s: Float) -> Var {
    a.tape.record(a.value * s, parents: [a]) { g, _ in [g * s] }
}

/// Adds a constant to every element.
public func + (a: Var, s: Float) -> Var {
    a.tape.record(a.value.map { $0 + s }, parents: [a]) { g, _ in [g] }
}

/// Adds `bias[c]` along the channel axis of [n, c] or [n, c, h, w].
public func addBias(_ x: Var, _ bias: Var) -> Var {
    var out = x.value
    out.addChannelBiasInPlace(bias.value)
    return x.tape.record(out, parents: [x, bias]) { g, needs in
        [needs[0] ? g : nil, needs[1] ? g.channelSums() : nil]
    }
}

/// Adds `e[n, c]` to every spatial position of `x[n, c, h, w]` (per-sample conditioning).
public func addSampleChannel(_ x: Var, _ e: Var) -> Var {
    var out = x.value
    out.addSampleChannelInPlace(e.value)
    return x.tape.record(out, parents: [x, e]) { g, needs in
        [needs[0] ? g : nil, needs[1] ? g.spatialSums() : nil]
    }
}

/// Each sample scaled by a constant of its own: out[i] = x[i] * s[i].
public func scalePerSample(_ x: Var, _ s: [Float]) -> Var {
    x.tape.record(x.value.scaledPerSample(s), parents: [x]) { g, _ in [g.scaledPerSample(s)] }
}
