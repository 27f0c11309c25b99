import TensorCore

/// Trajectory fidelity of a few-step student: the mean squared error between its final samples and
/// the teacher's many-step samples from the same noise and label (lower is more faithful). The one
/// definition the tools and the results pages use (`fs-eval`, `fs-eval trajectory-mse`, jobs/).
///
/// Both are clamped to the pixel range [-1, 1] first, as every image is before it is shown, written
/// or measured by the feature network: the metric compares the pictures the two models produce, so an
/// excursion beyond white or black that no one can see costs nothing. (The results pages have always
/// reported this clamped form; the unclamped one only differs where a model overshoots the range.)
///
/// Both tensors must have the same shape with samples on the leading axis ([N, C, H, W]).
/// Accumulated in Float64 so millions of squared differences lose nothing to summation order.
public struct TrajectoryFidelity: Sendable, Equatable {
    /// Mean over all elements of all samples (per-pixel MSE; every sample has the same size).
    public let mse: Double
    /// Mean over the elements of each sample, one value per sample (for spread and outliers).
    public let perSample: [Double]

    public init(student: Tensor, teacher: Tensor) throws {
        guard student.shape == teacher.shape else {
            throw EvalError.badShape(what: "student samples", shape: student.shape,
                                     expected: "\(teacher.shape) (the teacher samples' shape)")
        }
        guard student.rank >= 1, student.shape[0] > 0, student.count > 0 else {
            throw EvalError.tooFewSamples(needed: 1, got: 0)
        }
        guard student.isFinite else { throw EvalError.nonFinite(what: "student samples") }
        guard teacher.isFinite else { throw EvalError.nonFinite(what: "teacher samples") }
        let n = student.shape[0], inner = student.count / n
        var rows = [Double](repeating: 0, count: n)
        student.data.withUnsafeBufferPointer { a in
            teacher.data.withUnsafeBufferPointer { b in
                for i in 0..<n {
                    var s = 0.0
                    for k in (i * inner)..<((i + 1) * inner) {
                        let t = Double(min(1, max(-1, a[k]))) - Double(min(1, max(-1, b[k]))); s += t * t
                    }
                    rows[i] = s / Double(inner)
                }
            }
        }
        perSample = rows
        mse = rows.reduce(0, +) / Double(n)
    }
}
