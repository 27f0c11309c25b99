import TensorCore

/// The share of rows whose arg-max class equals the requested label: how often a conditional
/// sample is recognised as the digit it was asked for (our stand-in for CLIP/GenEval alignment).
///
/// `logits` is [N, C] (logits or probabilities: the arg-max is the same); ties go to the lowest
/// class index, as `torch.argmax` does on CPU. Labels must lie in 0..<C.
public func classAccuracy(logits: Tensor, labels: [Int]) throws -> Double {
    guard logits.rank == 2, logits.shape[1] > 0 else {
        throw EvalError.badShape(what: "logits", shape: logits.shape, expected: "[N, C] with C > 0")
    }
    let (n, c) = (logits.shape[0], logits.shape[1])
    guard labels.count == n else {
        throw EvalError.badShape(what: "labels", shape: [labels.count], expected: "[\(n)] (one per logits row)")
    }
    guard n > 0 else { throw EvalError.tooFewSamples(needed: 1, got: 0) }
    if let bad = labels.first(where: { $0 < 0 || $0 >= c }) {
        throw EvalError.badShape(what: "label \(bad)", shape: [bad], expected: "a class in 0..<\(c)")
    }
    let predicted = argmaxRows(logits)
    var hits = 0
    for i in 0..<n where predicted[i] == labels[i] { hits += 1 }
    return Double(hits) / Double(n)
}

/// The arg-max column of each row of a [N, C] tensor (first index among ties; NaN never wins).
public func argmaxRows(_ t: Tensor) -> [Int] {
    precondition(t.rank == 2, "argmaxRows: expected [N, C], got \(t.shape)")
    let (n, c) = (t.shape[0], t.shape[1])
    return t.data.withUnsafeBufferPointer { p in
        (0..<n).map { i in
            var best = 0, bestValue = -Float.infinity
            for j in 0..<c where p[i * c + j] > bestValue { best = j; bestValue = p[i * c + j] }
            return best
        }
    }
}
