import COpenBLAS
import TensorCore

/// Bootstrap replicates of FID over the generated samples, against fixed reference statistics.
///
/// Why it is cheap: a replicate is the original rows with integer weights c_i (how often each was
/// drawn), so its mean and covariance come from Σ c_i (x_i − s) and Σ c_i (x_i − s)(x_i − s)ᵀ, one
/// `dsyrk` over the √c_i-scaled rows that were drawn (about 63% of them), with s the full sample's
/// mean. No resampled feature matrix is built. The reference's eigendecomposition is done once.
/// Each replicate is computed by one thread with single-threaded BLAS, so the values are identical
/// for any thread count.
public struct FIDBootstrap: Sendable {
    public let interval: BootstrapInterval

    /// Rows per `dsyrk` call: fixed, because it sets the summation order.
    static let blockRows = 512

    public init(features: Tensor, reference: GaussianStatistics, estimate: Double,
                replicates: Int = BootstrapResampling.defaultReplicates, seed: UInt64, level: Double = 0.95) throws {
        guard features.rank == 2, features.shape[1] == reference.dimension else {
            throw EvalError.badShape(what: "sample features", shape: features.shape, expected: "[N, \(reference.dimension)]")
        }
        let n = features.shape[0], d = reference.dimension
        guard n >= 2 else { throw EvalError.tooFewSamples(needed: 2, got: n) }
        guard replicates >= 1 else { throw EvalError.badShape(what: "bootstrap replicates", shape: [replicates], expected: "at least 1") }
        guard features.isFinite else { throw EvalError.nonFinite(what: "sample features") }
        // Rows shifted by the sample mean, in Float64: removes the cancellation of all-positive features.
        var shift = [Double](repeating: 0, count: d)
        for i in 0..<n { for j in 0..<d { shift[j] += Double(features.data[i * d + j]) } }
        for j in 0..<d { shift[j] /= Double(n) }
        var centred = [Double](repeating: 0, count: n * d)
        for i in 0..<n { for j in 0..<d { centred[i * d + j] = Double(features.data[i * d + j]) - shift[j] } }
        let refEigen = try SymmetricEigen(reference.covariance, n: d)
        var values = [Double](repeating: .nan, count: replicates)
        var errors = [Error?](repeating: nil, count: replicates)
        values.withUnsafeMutableBufferPointer { out in
            errors.withUnsafeMutableBufferPointer { err in
                let box = UnsafeSendable((out, err))
                parallelItems(replicates) { b in
                    do {
                        let c = BootstrapResampling.counts(items: n, replicate: b, seed: seed)
                        let stats = try Self.weightedStatistics(centred, shift: shift, counts: c, n: n, d: d)
                        box.value.0[b] = try FrechetDistance(reference, stats, firstEigen: refEigen).value
                    } catch { box.value.1[b] = error }
                }
            }
        }
        if let e = errors.compactMap({ $0 }).first { throw e }
        interval = BootstrapInterval(estimate: estimate, replicates: values, level: level, floor: 0)
    }

    /// Mean and unbiased covariance of the multiset that holds row i `counts[i]` times.
    static func weightedStatistics(_ centred: [Double], shift: [Double], counts: [Int32], n: Int, d: Int) throws -> GaussianStatistics {
        var sum = [Double](repeating: 0, count: d), outer = [Double](repeating: 0, count: d * d)
        var block = [Double](repeating: 0, count: blockRows * d)
        var rows = 0
        func flush() {
            guard rows > 0 else { return }
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(d), Int32(rows), 1.0, block, Int32(d), 1.0, &outer, Int32(d))
            rows = 0
        }
        for i in 0..<n where counts[i] > 0 {
            let w = Double(counts[i]), r = w.squareRoot()
            for j in 0..<d {
                let v = centred[i * d + j]
                sum[j] += w * v
                block[rows * d + j] = r * v
            }
            rows += 1
            if rows == blockRows { flush() }
        }
        flush()
        let total = Double(n)
        var mean = [Double](repeating: 0, count: d), cov = [Double](repeating: 0, count: d * d)
        for j in 0..<d { mean[j] = shift[j] + sum[j] / total }
        for i in 0..<d {
            for j in i..<d {
                let v = (outer[i * d + j] - sum[i] * sum[j] / total) / (total - 1)
                cov[i * d + j] = v; cov[j * d + i] = v
            }
        }
        return try GaussianStatistics(mean: mean, covariance: cov, count: n)
    }
}
