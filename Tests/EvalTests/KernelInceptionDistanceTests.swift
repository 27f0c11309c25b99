import Testing
import TensorCore
@testable import Eval

@Suite struct KernelInceptionDistanceTests {
    /// Direct O(m²d) evaluation of the unbiased MMD² with the cubic kernel, the test reference.
    static func naiveMMD2(_ x: Tensor, _ y: Tensor) -> Double {
        let (m, d) = (x.shape[0], x.shape[1])
        func k(_ a: Tensor, _ i: Int, _ b: Tensor, _ j: Int) -> Double {
            var s = 0.0
            for t in 0..<d { s += Double(a.data[i * d + t]) * Double(b.data[j * d + t]) }
            let u = s / Double(d) + 1
            return u * u * u
        }
        var xx = 0.0, yy = 0.0, xy = 0.0
        for i in 0..<m { for j in 0..<m {
            if i != j { xx += k(x, i, x, j); yy += k(y, i, y, j) }
            xy += k(x, i, y, j)
        } }
        let mm = Double(m)
        return (xx + yy) / (mm * (mm - 1)) - 2 * xy / (mm * mm)
    }

    @Test func fullSetSubsetsEqualTheDirectEstimator() throws {
        let x = TestData.correlated(40, 6, seed: 20), y = TestData.features(40, 6, seed: 21, scale: 1.5, offset: 0.2)
        let kid = try KernelInceptionDistance(x, y, subsets: 5, subsetSize: 1000)
        let ref = Self.naiveMMD2(x, y)
        #expect(kid.subsetSize == 40)
        #expect(abs(kid.mean - ref) <= 1e-10 * abs(ref))
        #expect(kid.std <= 1e-10 * abs(ref))
    }

    @Test func sameDistributionIsNearZeroAndDifferentIsPositive() throws {
        let a = TestData.features(3000, 16, seed: 22), b = TestData.features(3000, 16, seed: 23)
        let c = TestData.features(3000, 16, seed: 24, scale: 1.5, offset: 0.2)
        let same = try KernelInceptionDistance(a, b, subsets: 20, subsetSize: 500)
        let diff = try KernelInceptionDistance(a, c, subsets: 20, subsetSize: 500)
        // The std is the spread of single subsets; the mean of 20 is √20 times tighter.
        #expect(abs(same.mean) < same.std, "same \(same.mean) ± \(same.std)")
        #expect(diff.mean > 5 * diff.std && diff.mean > 10 * same.std, "diff \(diff.mean) ± \(diff.std)")
        #expect(diff.subsetValues.count == 20)
    }

    @Test func deterministicForSeedAndThreadCount() throws {
        let a = TestData.correlated(600, 8, seed: 25), b = TestData.correlated(500, 8, seed: 26)
        let saved = ComputeThreads.count
        defer { ComputeThreads.set(saved) }
        ComputeThreads.set(1)
        let one = try KernelInceptionDistance(a, b, subsets: 7, subsetSize: 300, seed: 9)
        ComputeThreads.set(2)
        let two = try KernelInceptionDistance(a, b, subsets: 7, subsetSize: 300, seed: 9)
        #expect(one == two)
        let other = try KernelInceptionDistance(a, b, subsets: 7, subsetSize: 300, seed: 10)
        #expect(other.subsetValues != one.subsetValues)
    }

    @Test func rejectsBadInput() throws {
        let a = TestData.features(10, 4, seed: 27)
        #expect(throws: EvalError.dimensionMismatch(expected: 4, got: 5)) {
            try KernelInceptionDistance(a, TestData.features(10, 5, seed: 28))
        }
        #expect(throws: EvalError.tooFewSamples(needed: 2, got: 1)) {
            try KernelInceptionDistance(a, TestData.features(1, 4, seed: 29))
        }
        #expect(throws: EvalError.self) { try KernelInceptionDistance(a, Tensor(zeros: [10, 2, 2])) }
    }
}
