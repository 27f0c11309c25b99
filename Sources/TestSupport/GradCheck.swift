import TensorCore

/// Central finite-difference check of a tape op.
///
/// `f` builds an output from the given input Vars on a fresh tape; the check differentiates
/// L = sum(out * R) for a fixed random R (so every output element matters) and compares the
/// analytic gradient of each input with (L(x + h e_i) - L(x - h e_i)) / 2h on up to `probes`
/// coordinates per input. Returns the worst relative error |a - n| / max(1, |a|, |n|)... scaled by `scale`.
public func gradCheck(_ inputs: [Tensor], probes: Int = 24, step h: Float = 1e-2, seed: UInt64 = 1,
                      _ f: ([Var]) -> Var) -> Float {
    func loss(_ xs: [Tensor], _ r: Tensor) -> Double {
        let tape = Tape(recordsPullbacks: false)
        let out = f(xs.map { tape.constant($0) }).value
        return (out * r).sum()
    }
    let tape = Tape()
    let vars = inputs.map { tape.variable($0) }
    let out = f(vars)
    var rng = SplitMix64(seed: seed)
    let r = Tensor(shape: out.shape, data: rng.normals(out.value.count))
    let grads = tape.backward(out, seed: r)
    var worst: Float = 0
    for (k, x) in inputs.enumerated() {
        let analytic = grads[vars[k]]
        let idx = x.count <= probes ? Array(0..<x.count) : (0..<probes).map { _ in rng.below(x.count) }
        for i in idx {
            var plus = inputs, minus = inputs
            plus[k].data[i] += h; minus[k].data[i] -= h
            let numeric = Float((loss(plus, r) - loss(minus, r)) / Double(2 * h))
            let a = analytic.data[i]
            let err = abs(a - numeric) / max(1, abs(a), abs(numeric))
            worst = max(worst, err)
        }
    }
    return worst
}

/// A seeded random tensor, N(0, scale^2).
public func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    var g = SplitMix64(seed: seed)
    return Tensor(shape: shape, data: g.normals(shape.reduce(1, *)).map { $0 * scale })
}

/// Largest absolute difference between two tensors of the same shape.
public func maxAbsDifference(_ a: Tensor, _ b: Tensor) -> Float {
    precondition(a.shape == b.shape, "maxAbsDifference: \(a.shape) vs \(b.shape)")
    var m: Float = 0
    for i in 0..<a.count { m = max(m, abs(a.data[i] - b.data[i])) }
    return m
}
