import COpenBLAS
import TensorCore

/// Kernel Inception Distance (Bińkowski et al. 2018) with the clean-fid / torchmetrics defaults:
/// cubic polynomial kernel k(x, y) = (x·y / D + 1)³, the unbiased MMD² estimator, averaged over
/// random subsets.
///
/// Why KID next to FID: it is unbiased in the number of samples, so values from different sample
/// counts are comparable, and its subset spread gives an error bar.
///
/// Subsets are drawn without replacement with SplitMix64 streams, one per subset index
/// (`streamSeed(seed, purpose, subset)`), so the result is a pure function of the features, the seed
/// and the settings, independent of the thread count. Gram matrices use `dsyrk`/`dgemm` in Float64.
public struct KernelInceptionDistance: Sendable, Equatable {
    /// Mean of the per-subset MMD² estimates: the reported KID.
    public let mean: Double
    /// Population standard deviation over subsets (torchmetrics' `std(unbiased=False)`).
    public let std: Double
    /// The per-subset MMD² estimates, in subset order.
    public let subsetValues: [Double]
    /// Rows per subset actually used: min(requested size, rows of either set).
    public let subsetSize: Int

    /// The clean-fid / torchmetrics defaults.
    public static let defaultSubsets = 100
    public static let defaultSubsetSize = 1000
    /// `streamSeed` purpose of subset draws, distinct from the shared purposes in TensorCore.
    static let subsetPurpose: UInt64 = 0x4B49_445F_5355_4253 // "KID_SUBS"

    /// KID between two [N, D] feature sets (rows are samples). Either may be the reference set;
    /// the estimator is symmetric.
    public init(_ x: Tensor, _ y: Tensor, subsets: Int = defaultSubsets,
                subsetSize requested: Int = defaultSubsetSize, seed: UInt64 = 0) throws {
        guard x.rank == 2 else { throw EvalError.badShape(what: "first features", shape: x.shape, expected: "[N, D]") }
        guard y.rank == 2 else { throw EvalError.badShape(what: "second features", shape: y.shape, expected: "[N, D]") }
        guard x.shape[1] == y.shape[1] else { throw EvalError.dimensionMismatch(expected: x.shape[1], got: y.shape[1]) }
        guard x.isFinite else { throw EvalError.nonFinite(what: "first features") }
        guard y.isFinite else { throw EvalError.nonFinite(what: "second features") }
        guard subsets >= 1 else {
            throw EvalError.badShape(what: "subset count", shape: [subsets], expected: "at least 1")
        }
        let m = min(requested, x.shape[0], y.shape[0])
        guard m >= 2 else { throw EvalError.tooFewSamples(needed: 2, got: m) }
        let d = x.shape[1], nx = x.shape[0], ny = y.shape[0]

        var values = [Double](repeating: 0, count: subsets)
        x.data.withUnsafeBufferPointer { xp in
            y.data.withUnsafeBufferPointer { yp in
                values.withUnsafeMutableBufferPointer { out in
                    parallelChunks(subsets) { _, range in
                        var work = SubsetWork(m: m, d: d)
                        for s in range {
                            var g = SplitMix64(seed: streamSeed(seed, Self.subsetPurpose, UInt64(s)))
                            SubsetWork.gather(xp, rows: nx, m: m, d: d, into: &work.x, pool: &work.pool, using: &g)
                            SubsetWork.gather(yp, rows: ny, m: m, d: d, into: &work.y, pool: &work.pool, using: &g)
                            out[s] = work.unbiasedMMD2()
                        }
                    }
                }
            }
        }
        let mu = values.reduce(0, +) / Double(subsets)
        let variance = values.reduce(0) { $0 + ($1 - mu) * ($1 - mu) } / Double(subsets)
        mean = mu
        std = variance.squareRoot()
        subsetValues = values
        subsetSize = m
    }
}

/// Scratch buffers for one thread's subsets: two m×D Float64 subsets and one m×m Gram matrix.
private struct SubsetWork {
    let m: Int, d: Int
    var x: [Double], y: [Double], gram: [Double]
    /// Index pool for partial Fisher–Yates draws, reset per draw.
    var pool: [Int] = []

    init(m: Int, d: Int) {
        self.m = m; self.d = d
        x = [Double](repeating: 0, count: m * d)
        y = x
        gram = [Double](repeating: 0, count: m * m)
    }

    /// Copies m distinct random rows (partial Fisher–Yates over 0..<rows) of `src` into `out`.
    static func gather(_ src: UnsafeBufferPointer<Float>, rows: Int, m: Int, d: Int,
                       into out: inout [Double], pool: inout [Int], using g: inout SplitMix64) {
        if pool.count != rows { pool = Array(0..<rows) } else { for i in 0..<rows { pool[i] = i } }
        for i in 0..<m {
            let j = i + g.below(rows - i)
            pool.swapAt(i, j)
            let r = pool[i]
            for k in 0..<d { out[i * d + k] = Double(src[r * d + k]) }
        }
    }

    /// (Σ_{i≠j} k(x_i, x_j) + Σ_{i≠j} k(y_i, y_j)) / (m(m−1)) − 2 Σ_{i,j} k(x_i, y_j) / m².
    mutating func unbiasedMMD2() -> Double {
        let kxx = offDiagonalKernelSum(x), kyy = offDiagonalKernelSum(y)
        let (m32, d32) = (Int32(m), Int32(d))
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m32, m32, d32,
                    1.0, x, d32, y, d32, 0.0, &gram, m32)
        let inv = 1.0 / Double(d)
        var kxy = 0.0
        for v in gram { let t = v * inv + 1; kxy += t * t * t }
        let mm = Double(m)
        return (kxx + kyy) / (mm * (mm - 1)) - 2 * kxy / (mm * mm)
    }

    /// Σ_{i≠j} k(a_i, a_j) using the upper triangle of a·aᵀ (`dsyrk`) and symmetry.
    private mutating func offDiagonalKernelSum(_ a: [Double]) -> Double {
        let (m32, d32) = (Int32(m), Int32(d))
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, m32, d32, 1.0, a, d32, 0.0, &gram, m32)
        let inv = 1.0 / Double(d)
        var s = 0.0
        gram.withUnsafeBufferPointer { g in
            for i in 0..<m {
                for j in (i + 1)..<max(i + 1, m) {
                    let t = g[i * m + j] * inv + 1
                    s += t * t * t
                }
            }
        }
        return 2 * s
    }
}
