import COpenBLAS
import TensorCore

/// Streaming, mergeable Float64 accumulation of feature statistics: a running sum and a running
/// sum of outer products, finished into mean and unbiased covariance.
///
/// Why shifted sums: the one-pass formula Σ = (Σxxᵀ − n·μμᵀ)/(n−1) cancels catastrophically when
/// the mean is large against the spread (ReLU features are all positive). Accumulating x − c for a
/// fixed shift c near the mean (the first batch's mean) keeps the same streaming, mergeable form
/// while removing that cancellation. Shards with different shifts are rebased exactly on merge.
///
/// The outer-product sum is updated with `cblas_dsyrk` (upper triangle only), so 10k×128 features
/// cost a few milliseconds.
public struct GaussianAccumulator: Sendable {
    /// Feature dimension D.
    public let dimension: Int
    /// Samples seen so far.
    public private(set) var count: Int = 0
    /// The shift c (empty until the first sample arrives).
    private var shift: [Double] = []
    /// Σ (x − c), D values.
    private var sum: [Double]
    /// Σ (x − c)(x − c)ᵀ, D×D row-major; only the upper triangle is maintained.
    private var outer: [Double]

    /// Rows converted to Float64 per `dsyrk` call: bounds the scratch buffer, not the result.
    private static let blockRows = 512

    public init(dimension: Int) throws {
        guard dimension > 0 else {
            throw EvalError.badShape(what: "features", shape: [dimension], expected: "a positive feature dimension")
        }
        self.dimension = dimension
        sum = [Double](repeating: 0, count: dimension)
        outer = [Double](repeating: 0, count: dimension * dimension)
    }

    /// Adds the rows of a [N, D] feature tensor.
    public mutating func add(_ features: Tensor) throws {
        guard features.rank == 2, features.shape[1] == dimension else {
            throw EvalError.badShape(what: "features", shape: features.shape, expected: "[N, \(dimension)]")
        }
        try features.data.withUnsafeBufferPointer { try add(rows: $0) }
    }

    /// Adds `rows.count / D` feature rows stored contiguously (row-major).
    public mutating func add(rows: UnsafeBufferPointer<Float>) throws {
        let d = dimension
        guard rows.count % d == 0 else {
            throw EvalError.badShape(what: "feature rows", shape: [rows.count], expected: "a multiple of \(d) values")
        }
        let n = rows.count / d
        if n == 0 { return }
        for v in rows where !v.isFinite { throw EvalError.nonFinite(what: "features") }
        if shift.isEmpty {
            // The first batch's mean: any fixed c is exact, one near the data is accurate.
            shift = [Double](repeating: 0, count: d)
            for r in 0..<n { for j in 0..<d { shift[j] += Double(rows[r * d + j]) } }
            for j in 0..<d { shift[j] /= Double(n) }
        }
        var block = [Double](repeating: 0, count: min(n, Self.blockRows) * d)
        var start = 0
        while start < n {
            let m = min(Self.blockRows, n - start)
            for r in 0..<m {
                let src = (start + r) * d, dst = r * d
                for j in 0..<d {
                    let v = Double(rows[src + j]) - shift[j]
                    block[dst + j] = v
                    sum[j] += v
                }
            }
            // outer += blockᵀ·block (block is m×D row-major).
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(d), Int32(m),
                        1.0, block, Int32(d), 1.0, &outer, Int32(d))
            start += m
        }
        count += n
    }

    /// Adds another accumulator's samples (for example a shard computed on another thread or machine).
    public mutating func merge(_ other: GaussianAccumulator) throws {
        guard other.dimension == dimension else {
            throw EvalError.dimensionMismatch(expected: dimension, got: other.dimension)
        }
        if other.count == 0 { return }
        if count == 0 { self = other; return }
        // Rebase the other's sums from its shift c' to ours c: x − c = (x − c') + δ with δ = c' − c, so
        // Σ(x−c)(x−c)ᵀ = S' + s'δᵀ + δs'ᵀ + n'δδᵀ and Σ(x−c) = s' + n'δ.
        let d = dimension
        var o = other.outer, s = other.sum
        var delta = [Double](repeating: 0, count: d)
        for j in 0..<d { delta[j] = other.shift[j] - shift[j] }
        cblas_dsyr2(CblasRowMajor, CblasUpper, Int32(d), 1.0, s, 1, delta, 1, &o, Int32(d))
        cblas_dsyr(CblasRowMajor, CblasUpper, Int32(d), Double(other.count), delta, 1, &o, Int32(d))
        for j in 0..<d { s[j] += Double(other.count) * delta[j] }
        for i in 0..<d {
            sum[i] += s[i]
            for j in i..<d { outer[i * d + j] += o[i * d + j] }
        }
        count += other.count
    }

    /// Mean and unbiased covariance (n − 1 denominator, as `np.cov` and pytorch-fid use).
    public func finish() throws -> GaussianStatistics {
        guard count >= 2 else { throw EvalError.tooFewSamples(needed: 2, got: count) }
        let d = dimension, n = Double(count)
        var mean = [Double](repeating: 0, count: d)
        for j in 0..<d { mean[j] = shift[j] + sum[j] / n }
        // Σ = (S − s sᵀ / n) / (n − 1), with S and s the shifted sums.
        var cov = [Double](repeating: 0, count: d * d)
        for i in 0..<d {
            for j in i..<d {
                let v = (outer[i * d + j] - sum[i] * sum[j] / n) / (n - 1)
                cov[i * d + j] = v; cov[j * d + i] = v
            }
        }
        return try GaussianStatistics(mean: mean, covariance: cov, count: count)
    }
}
