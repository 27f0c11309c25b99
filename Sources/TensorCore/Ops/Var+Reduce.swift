/// Mean of all elements: a scalar (shape []).
public func mean(_ x: Var) -> Var {
    let shape = x.shape, n = Float(x.value.count)
    return x.tape.record(Tensor(scalar: Float(x.value.sum()) / n), parents: [x]) { g, _ in
        [Tensor(repeating: g.scalar / n, shape: shape)]
    }
}

/// Mean squared error against a constant target: mean((x - target)^2).
public func meanSquaredError(_ x: Var, target: Tensor) -> Var {
    let xv = x.value
    precondition(xv.shape == target.shape, "meanSquaredError: \(xv.shape) vs target \(target.shape)")
    let diff = xv - target, n = Float(xv.count)
    let loss = diff.data.withUnsafeBufferPointer { p in
        var s = 0.0
        for v in p { s += Double(v) * Double(v) }
        return Float(s / Double(n))
    }
    return x.tape.record(Tensor(scalar: loss), parents: [x]) { g, _ in [diff * (2 * g.scalar / n)] }
}

/// Mean over the spatial axes: [n, c, h, w] -> [n, c] (global average pooling).
public func meanSpatial(_ x: Var) -> Var {
    let xv = x.value
    precondition(xv.rank == 4, "meanSpatial: \(xv.shape)")
    let hw = xv.shape[2] * xv.shape[3]
    let out = xv.spatialSums() * (1 / Float(hw))
    return x.tape.record(out, parents: [x]) { g, _ in
        var gx = Tensor(zeros: xv.shape)
        gx.addSampleChannelInPlace(g * (1 / Float(hw)))
        return [gx]
    }
}
