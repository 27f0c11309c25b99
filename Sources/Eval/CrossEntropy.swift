import Foundation
import TensorCore

/// Mean softmax cross-entropy of logits [N, C] against integer labels, PyTorch
/// `F.cross_entropy(logits, labels)` (reduction "mean"). Recorded on the logits' tape with the
/// closed-form gradient (softmax − one-hot) / N, so it is one node instead of a chain of ops.
///
/// Log-softmax is computed with the row maximum subtracted, in Float64 for the sum, so large
/// logits neither overflow nor lose the loss to rounding.
public func softmaxCrossEntropy(_ logits: Var, labels: [Int]) -> Var {
    let lv = logits.value
    precondition(lv.rank == 2 && lv.shape[0] == labels.count,
                 "softmaxCrossEntropy: logits \(lv.shape) for \(labels.count) labels")
    let (n, c) = (lv.shape[0], lv.shape[1])
    var probs = [Float](repeating: 0, count: n * c)
    var loss = 0.0
    lv.data.withUnsafeBufferPointer { l in
        for i in 0..<n {
            let row = i * c
            var m = -Float.infinity
            for j in 0..<c { m = max(m, l[row + j]) }
            var z = 0.0
            for j in 0..<c { z += Foundation.exp(Double(l[row + j] - m)) }
            let logZ = Double(m) + Foundation.log(z)
            precondition(labels[i] >= 0 && labels[i] < c, "softmaxCrossEntropy: label \(labels[i]) outside 0..<\(c)")
            loss -= Double(l[row + labels[i]]) - logZ
            for j in 0..<c { probs[row + j] = Float(Foundation.exp(Double(l[row + j]) - logZ)) }
        }
    }
    let value = Tensor(scalar: Float(loss / Double(n)))
    return logits.tape.record(value, parents: [logits]) { g, _ in
        var grad = probs
        for i in 0..<n { grad[i * c + labels[i]] -= 1 }
        let scale = g.scalar / Float(n)
        for k in 0..<grad.count { grad[k] *= scale }
        return [Tensor(shape: [n, c], data: grad)]
    }
}
