import Testing
import TensorCore
@testable import Eval

@Suite struct GaussianAccumulatorTests {
    @Test func matchesTwoPassStatistics() throws {
        let x = TestData.correlated(1500, 24, seed: 1)
        let s = try GaussianStatistics(features: x)
        let ref = TestData.twoPass(x)
        #expect(s.count == 1500 && s.dimension == 24)
        #expect(TestData.maxAbsDiff(s.mean, ref.mean) < 1e-12)
        #expect(TestData.maxAbsDiff(s.covariance, ref.cov) < 1e-10)
    }

    @Test func batchesAndMergedShardsAgreeWithOneBatch() throws {
        let x = TestData.correlated(1300, 12, seed: 2)
        let whole = try GaussianStatistics(features: x)
        // Uneven batches in one accumulator (crosses the internal 512-row block size).
        var batched = try GaussianAccumulator(dimension: 12)
        for r in [0..<7, 7..<600, 600..<1300] { try batched.add(x.slice(r)) }
        // Two shards with different shifts, merged both ways round.
        var a = try GaussianAccumulator(dimension: 12), b = try GaussianAccumulator(dimension: 12)
        try a.add(x.slice(0..<400)); try b.add(x.slice(400..<1300))
        var ab = a; try ab.merge(b)
        var ba = b; try ba.merge(a)
        for s in [try batched.finish(), try ab.finish(), try ba.finish()] {
            #expect(s.count == 1300)
            #expect(TestData.maxAbsDiff(s.mean, whole.mean) < 1e-12)
            #expect(TestData.maxAbsDiff(s.covariance, whole.covariance) < 1e-11)
        }
        var empty = try GaussianAccumulator(dimension: 12)
        try empty.merge(a)
        #expect(try empty.finish() == a.finish())
    }

    /// ReLU features are all positive with a mean far above their spread; the shifted sums must not
    /// lose the covariance to cancellation (the naive Σxxᵀ − nμμᵀ loses ~8 digits here).
    @Test func largeOffsetKeepsCovarianceAccurate() throws {
        let x = TestData.features(2000, 8, seed: 3, scale: 1e-2, offset: 1e3)
        let s = try GaussianStatistics(features: x)
        let ref = TestData.twoPass(x)
        let relative = TestData.maxAbsDiff(s.covariance, ref.cov) / ref.cov.map(abs).max()!
        #expect(relative < 1e-9)
    }

    @Test func rejectsBadInput() throws {
        var acc = try GaussianAccumulator(dimension: 4)
        #expect(throws: EvalError.badShape(what: "features", shape: [2, 3], expected: "[N, 4]")) {
            try acc.add(Tensor(zeros: [2, 3]))
        }
        #expect(throws: EvalError.nonFinite(what: "features")) {
            try acc.add(Tensor(shape: [1, 4], data: [0, .nan, 0, 0]))
        }
        try acc.add(Tensor(zeros: [1, 4]))
        #expect(throws: EvalError.tooFewSamples(needed: 2, got: 1)) { try acc.finish() }
        #expect(throws: EvalError.dimensionMismatch(expected: 4, got: 5)) {
            try acc.merge(GaussianAccumulator(dimension: 5))
        }
    }

    @Test func statisticsValidation() throws {
        #expect(throws: EvalError.self) { try GaussianStatistics(mean: [0, 0], covariance: [1, 0, 0]) }
        #expect(throws: EvalError.nonFinite(what: "covariance")) {
            try GaussianStatistics(mean: [0, 0], covariance: [1, 0, 0, .infinity])
        }
        #expect(throws: EvalError.self) { try GaussianStatistics(mean: [0, 0], covariance: [1, 0.5, 0, 1]) }
        #expect(throws: EvalError.self) { try GaussianStatistics(mean: [0, 0], covariance: [-1, 0, 0, 1]) }
        // Asymmetry at rounding level is accepted and removed.
        let s = try GaussianStatistics(mean: [0, 0], covariance: [1, 0.5, 0.5 + 1e-15, 1])
        #expect(s.covariance[1] == s.covariance[2])
    }
}
