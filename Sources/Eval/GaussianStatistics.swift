import TensorCore

/// Mean and unbiased covariance of a feature distribution: the two tensors FID compares.
///
/// Stored in Float64 because FID subtracts large, nearly equal traces; Float32 statistics lose
/// several digits there. The covariance is kept exactly symmetric (the constructor averages it with
/// its transpose) so the symmetric eigensolver sees the matrix it assumes.
public struct GaussianStatistics: Sendable, Equatable {
    /// Feature dimension D.
    public let dimension: Int
    /// Mean μ, D values.
    public let mean: [Double]
    /// Unbiased covariance Σ (divided by n - 1, like `np.cov`), D×D row-major.
    public let covariance: [Double]
    /// Number of samples the statistics were computed from (0 when unknown, e.g. loaded from a file).
    public let count: Int

    /// Validates and wraps given statistics (for example ones read from a file).
    ///
    /// Rejects mismatched shapes, non-finite values and asymmetry beyond rounding (relative 1e-6),
    /// since any of these means the statistics are corrupt rather than merely noisy.
    public init(mean: [Double], covariance: [Double], count: Int = 0) throws {
        let d = mean.count
        guard covariance.count == d * d else {
            throw EvalError.badShape(what: "covariance", shape: [covariance.count],
                                     expected: "[\(d), \(d)] (\(d * d) values) to match a mean of \(d)")
        }
        guard mean.allSatisfy(\.isFinite) else { throw EvalError.nonFinite(what: "mean") }
        guard covariance.allSatisfy(\.isFinite) else { throw EvalError.nonFinite(what: "covariance") }
        var scale = 0.0
        for v in covariance { scale = max(scale, abs(v)) }
        var sym = covariance
        for i in 0..<d {
            guard covariance[i * d + i] >= -1e-9 * scale else {
                throw EvalError.notCovariance(what: "covariance",
                                              detail: "negative variance \(covariance[i * d + i]) at index \(i)")
            }
            for j in (i + 1)..<max(i + 1, d) {
                let a = covariance[i * d + j], b = covariance[j * d + i]
                guard abs(a - b) <= 1e-6 * scale else {
                    throw EvalError.notCovariance(what: "covariance",
                                                  detail: "not symmetric at (\(i), \(j)): \(a) vs \(b)")
                }
                let m = 0.5 * (a + b)
                sym[i * d + j] = m; sym[j * d + i] = m
            }
        }
        self.dimension = d
        self.mean = mean
        self.covariance = sym
        self.count = count
    }

    /// Statistics of the rows of a [N, D] feature tensor (N ≥ 2).
    public init(features: Tensor) throws {
        var acc = try GaussianAccumulator(dimension: features.shape.last ?? 0)
        try acc.add(features)
        self = try acc.finish()
    }

    /// tr Σ, the total variance.
    public var trace: Double {
        var t = 0.0
        for i in 0..<dimension { t += covariance[i * dimension + i] }
        return t
    }
}
