import TensorCore

/// Classifier-free guidance for any velocity network (diffusers' form): v = v_null + w (v_cond - v_null)
/// with w per sample. Samples with w == 1 cost one evaluation; the others are batched with their
/// null-label twins in one call of `evaluate` (all conditional rows first, then the null rows of the
/// guided samples), so a backbone only supplies its plain forward pass.
public func guidedVelocity(_ x: Tensor, sigmas: [Float], labels: [Int], guidance: [Float], nullLabel: Int,
                           evaluate: (_ x: Tensor, _ sigmas: [Float], _ labels: [Int]) -> Tensor) -> Tensor {
    let n = labels.count
    precondition(x.shape[0] == n && sigmas.count == n && guidance.count == n, "velocity: batch sizes differ")
    let guided = (0..<n).filter { guidance[$0] != 1 }
    if guided.isEmpty { return evaluate(x, sigmas, labels) }
    let inner = x.count / n
    var xs = x.data; xs.reserveCapacity(x.count + guided.count * inner)
    var ss = sigmas, ls = labels
    for i in guided {
        xs += x.data[(i * inner)..<((i + 1) * inner)]
        ss.append(sigmas[i]); ls.append(nullLabel)
    }
    let both = evaluate(Tensor(shape: [n + guided.count] + Array(x.shape.dropFirst()), data: xs), ss, ls)
    var v = Array(both.data[0..<(n * inner)])
    for (j, i) in guided.enumerated() {
        let w = guidance[i], nullBase = (n + j) * inner
        for k in 0..<inner {
            let c = v[i * inner + k], u = both.data[nullBase + k]
            v[i * inner + k] = u + w * (c - u)
        }
    }
    return Tensor(shape: x.shape, data: v)
}
