import COpenBLAS

/// The Fréchet distance between two Gaussians, the quantity FID reports:
///
///     d² = ‖μ1 − μ2‖² + tr Σ1 + tr Σ2 − 2 tr (Σ1^½ Σ2 Σ1^½)^½
///
/// The last trace equals tr (Σ1 Σ2)^½, which pytorch-fid and clean-fid compute with
/// `scipy.linalg.sqrtm` on the non-symmetric product. We compute it with two symmetric
/// eigendecompositions instead, which is exact in real arithmetic and cannot produce
/// complex parts (pytorch-fid #13) or depend on a particular scipy version (pytorch-fid #100):
///
/// 1. Σ1 = Eᵀ Λ E (rows of E are eigenvectors); Σ1^½ = Eᵀ Λ^½ E with eigenvalues clamped at 0.
/// 2. Σ1^½ Σ2 Σ1^½ = Eᵀ (Λ^½ E Σ2 Eᵀ Λ^½) E, so the symmetric PSD matrix B = Λ^½ (E Σ2 Eᵀ) Λ^½ has
///    the same eigenvalues; tr(...)^½ = Σ_k √max(β_k, 0).
///
/// Singular covariances (fewer samples than dimensions) need no ε regulariser: their zero
/// eigenvalues, slightly negative after rounding, are clamped to 0 and the result stays finite.
/// Eigenvalues more negative than 1e-6 of the largest magnitude are rejected, because then the
/// input is not a covariance (a corrupt statistics file), not merely rounded.
public struct FrechetDistance: Sendable, Equatable {
    /// ‖μ1 − μ2‖².
    public let meanTerm: Double
    /// tr Σ1 and tr Σ2.
    public let trace1: Double, trace2: Double
    /// tr (Σ1^½ Σ2 Σ1^½)^½.
    public let traceSqrtProduct: Double

    /// The distance d² (the "FID"), clamped at 0: rounding can leave a tiny negative value when the
    /// two distributions are equal, and a squared distance is never negative.
    public var value: Double { max(0, meanTerm + trace1 + trace2 - 2 * traceSqrtProduct) }

    /// Relative tolerance below which negative eigenvalues count as rounding of a PSD matrix.
    static let psdTolerance = 1e-6

    public init(_ a: GaussianStatistics, _ b: GaussianStatistics) throws {
        try self.init(a, b, firstEigen: nil)
    }

    /// `firstEigen`, when given, is `SymmetricEigen(a.covariance)` computed once by the caller (the
    /// bootstrap compares many statistics with one reference).
    init(_ a: GaussianStatistics, _ b: GaussianStatistics, firstEigen: SymmetricEigen?) throws {
        guard a.dimension == b.dimension else {
            throw EvalError.dimensionMismatch(expected: a.dimension, got: b.dimension)
        }
        let d = a.dimension
        var m = 0.0
        for j in 0..<d { let t = a.mean[j] - b.mean[j]; m += t * t }
        meanTerm = m
        trace1 = a.trace
        trace2 = b.trace

        let e1 = try firstEigen ?? SymmetricEigen(a.covariance, n: d)
        let root = try Self.clampedRoots(e1.values, what: "first covariance")
        // Σ2 is validated on its own too: a singular Σ1 can hide Σ2's negative directions from B.
        _ = try Self.clampedRoots(try SymmetricEigen(b.covariance, n: d, vectors: false).values,
                                  what: "second covariance")
        // T = E Σ2 Eᵀ.
        var tmp = [Double](repeating: 0, count: d * d), t = [Double](repeating: 0, count: d * d)
        let n32 = Int32(d)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n32, n32, n32,
                    1.0, e1.vectors, n32, b.covariance, n32, 0.0, &tmp, n32)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n32, n32, n32,
                    1.0, tmp, n32, e1.vectors, n32, 0.0, &t, n32)
        // B = Λ^½ T Λ^½, symmetrised so the rounding of the two products cannot break symmetry.
        var bm = [Double](repeating: 0, count: d * d)
        for i in 0..<d {
            for j in i..<d {
                let v = root[i] * root[j] * 0.5 * (t[i * d + j] + t[j * d + i])
                bm[i * d + j] = v; bm[j * d + i] = v
            }
        }
        let e2 = try SymmetricEigen(bm, n: d, vectors: false)
        traceSqrtProduct = try Self.clampedRoots(e2.values, what: "product Σ1^½ Σ2 Σ1^½").reduce(0, +)
    }

    /// Square roots of eigenvalues clamped at 0, after checking none is clearly negative.
    static func clampedRoots(_ values: [Double], what: String) throws -> [Double] {
        var scale = 0.0
        for v in values { scale = max(scale, abs(v)) }
        return try values.map { v in
            guard v.isFinite else { throw EvalError.nonFinite(what: what) }
            guard v >= -psdTolerance * scale else {
                throw EvalError.notCovariance(
                    what: what, detail: "eigenvalue \(v) is negative beyond rounding (largest magnitude \(scale))")
            }
            return max(v, 0).squareRoot()
        }
    }
}

/// FID between two sets of feature statistics: shorthand for `FrechetDistance(a, b).value`.
public func frechetDistance(_ a: GaussianStatistics, _ b: GaussianStatistics) throws -> Double {
    try FrechetDistance(a, b).value
}
