import TensorCore
@testable import Eval

/// Deterministic test inputs shared by the Eval tests.
enum TestData {
    /// [n, d] standard normal features (optionally scaled and shifted), from a fixed seed.
    static func features(_ n: Int, _ d: Int, seed: UInt64, scale: Float = 1, offset: Float = 0) -> Tensor {
        var g = SplitMix64(seed: seed)
        return Tensor(shape: [n, d], data: g.normals(n * d).map { $0 * scale + offset })
    }

    /// Features with correlated coordinates: z · M for a fixed random mixing matrix M.
    static func correlated(_ n: Int, _ d: Int, seed: UInt64) -> Tensor {
        var g = SplitMix64(seed: seed ^ 0xABCDEF)
        let mix = g.normals(d * d)
        let z = features(n, d, seed: seed)
        var out = [Float](repeating: 0, count: n * d)
        for i in 0..<n { for k in 0..<d { let zk = z.data[i * d + k]; for j in 0..<d { out[i * d + j] += zk * mix[k * d + j] } } }
        return Tensor(shape: [n, d], data: out)
    }

    /// Two-pass (textbook) mean and unbiased covariance in Float64, the reference for the accumulator.
    static func twoPass(_ x: Tensor) -> (mean: [Double], cov: [Double]) {
        let (n, d) = (x.shape[0], x.shape[1])
        var mean = [Double](repeating: 0, count: d)
        for i in 0..<n { for j in 0..<d { mean[j] += Double(x.data[i * d + j]) } }
        for j in 0..<d { mean[j] /= Double(n) }
        var cov = [Double](repeating: 0, count: d * d)
        for i in 0..<n {
            for a in 0..<d {
                let da = Double(x.data[i * d + a]) - mean[a]
                for b in 0..<d { cov[a * d + b] += da * (Double(x.data[i * d + b]) - mean[b]) }
            }
        }
        for k in 0..<(d * d) { cov[k] /= Double(n - 1) }
        return (mean, cov)
    }

    /// Diagonal statistics with the given mean and variances.
    static func diagonal(mean: [Double], variances: [Double]) throws -> GaussianStatistics {
        let d = mean.count
        var cov = [Double](repeating: 0, count: d * d)
        for i in 0..<d { cov[i * d + i] = variances[i] }
        return try GaussianStatistics(mean: mean, covariance: cov)
    }

    static func maxAbsDiff(_ a: [Double], _ b: [Double]) -> Double {
        zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }
}
