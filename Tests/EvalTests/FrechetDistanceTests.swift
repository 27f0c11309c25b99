import Foundation
import Testing
import TensorCore
@testable import Eval

@Suite struct FrechetDistanceTests {
    @Test func identicalStatisticsGiveZero() throws {
        let s = try GaussianStatistics(features: TestData.correlated(800, 32, seed: 10))
        let f = try FrechetDistance(s, s)
        // The raw expression cancels tr Σ + tr Σ − 2 tr Σ to rounding.
        let raw = f.meanTerm + f.trace1 + f.trace2 - 2 * f.traceSqrtProduct
        #expect(abs(raw) < 1e-10 * f.trace1)
        #expect(f.value < 1e-10 * f.trace1)
    }

    @Test func symmetric() throws {
        let a = try GaussianStatistics(features: TestData.correlated(500, 16, seed: 11))
        let b = try GaussianStatistics(features: TestData.features(700, 16, seed: 12, scale: 2, offset: 0.3))
        let ab = try frechetDistance(a, b), ba = try frechetDistance(b, a)
        #expect(ab > 1)
        #expect(abs(ab - ba) <= 1e-12 * ab)
    }

    /// For diagonal covariances the distance separates per coordinate:
    /// Σ_i (μ1_i − μ2_i)² + (√σ1_i − √σ2_i)².
    @Test func diagonalClosedForm() throws {
        var g = SplitMix64(seed: 13)
        let d = 20
        let m1 = (0..<d).map { _ in Double(g.normals(1)[0]) }, m2 = (0..<d).map { _ in Double(g.normals(1)[0]) }
        let v1 = (0..<d).map { _ in 0.01 + 4 * Double(g.uniform()) }, v2 = (0..<d).map { _ in 0.01 + 4 * Double(g.uniform()) }
        var expected = 0.0
        for i in 0..<d {
            expected += (m1[i] - m2[i]) * (m1[i] - m2[i])
            expected += (v1[i].squareRoot() - v2[i].squareRoot()) * (v1[i].squareRoot() - v2[i].squareRoot())
        }
        let got = try frechetDistance(TestData.diagonal(mean: m1, variances: v1), TestData.diagonal(mean: m2, variances: v2))
        #expect(abs(got - expected) <= 1e-12 * expected)
    }

    /// Univariate case with a zero variance on one side: (μ1−μ2)² + σ1² exactly.
    @Test func degenerateOneDimensional() throws {
        let a = try GaussianStatistics(mean: [1], covariance: [4]), b = try GaussianStatistics(mean: [3], covariance: [0])
        #expect(abs(try frechetDistance(a, b) - 8) < 1e-12)
        #expect(abs(try frechetDistance(b, a) - 8) < 1e-12)
    }

    /// Fewer samples than dimensions: both covariances are singular (rank ≤ n − 1); the answer must
    /// be finite, non-negative and close to the same computation with a tiny ridge added.
    @Test func singularCovariancesAreFinite() throws {
        let d = 64
        let a = try GaussianStatistics(features: TestData.correlated(20, d, seed: 14))
        let b = try GaussianStatistics(features: TestData.correlated(30, d, seed: 15))
        let f = try frechetDistance(a, b)
        #expect(f.isFinite && f > 0)
        #expect(try frechetDistance(a, a) < 1e-8 * a.trace)
        func ridge(_ s: GaussianStatistics) throws -> GaussianStatistics {
            var c = s.covariance
            for i in 0..<d { c[i * d + i] += 1e-9 }
            return try GaussianStatistics(mean: s.mean, covariance: c)
        }
        let fr = try frechetDistance(ridge(a), ridge(b))
        #expect(abs(f - fr) < 1e-3 * f)
        // Rank 0 (all samples identical): Σ1 = 0, so d² = ‖μ1 − μ2‖² + tr Σ2 exactly.
        let z = try GaussianStatistics(features: Tensor(repeating: 0.5, shape: [5, d]))
        let expected = TestData.meanDistanceSquared(z, b) + b.trace
        #expect(abs(try frechetDistance(z, b) - expected) < 1e-9 * expected)
        #expect(abs(try frechetDistance(b, z) - expected) < 1e-9 * expected)
    }

    @Test func rejectsMismatchedAndIndefinite() throws {
        let a = try GaussianStatistics(mean: [0, 0], covariance: [1, 0, 0, 1])
        let b = try GaussianStatistics(mean: [0, 0, 0], covariance: [1, 0, 0, 0, 1, 0, 0, 0, 1])
        #expect(throws: EvalError.dimensionMismatch(expected: 2, got: 3)) { try frechetDistance(a, b) }
        // Symmetric with positive diagonal but eigenvalues 3 and −1: not a covariance.
        let bad = try GaussianStatistics(mean: [0, 0], covariance: [1, 2, 2, 1])
        #expect(throws: EvalError.self) { try frechetDistance(bad, a) }
        #expect(throws: EvalError.self) { try frechetDistance(a, bad) }
    }

    @Test func eigenDecompositionReconstructs() throws {
        let s = try GaussianStatistics(features: TestData.correlated(100, 10, seed: 16))
        let e = try SymmetricEigen(s.covariance, n: 10)
        #expect(zip(e.values, e.values.dropFirst()).allSatisfy { $0 <= $1 })
        var back = [Double](repeating: 0, count: 100)
        for k in 0..<10 { for i in 0..<10 { for j in 0..<10 {
            back[i * 10 + j] += e.values[k] * e.vectors[k * 10 + i] * e.vectors[k * 10 + j]
        } } }
        #expect(TestData.maxAbsDiff(back, s.covariance) < 1e-12 * s.trace)
    }
}

extension TestData {
    static func meanDistanceSquared(_ a: GaussianStatistics, _ b: GaussianStatistics) -> Double {
        zip(a.mean, b.mean).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
    }
}
