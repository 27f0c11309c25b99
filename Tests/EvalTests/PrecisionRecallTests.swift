import Testing
import TensorCore
@testable import Eval

@Suite struct PrecisionRecallTests {
    @Test func identicalSetsAreFullyCoveredAndShiftedSetsAreNot() throws {
        let a = TestData.features(400, 8, seed: 70)
        let same = try PrecisionRecall(real: a, generated: a)
        #expect(same.precision == 1 && same.recall == 1)
        let far = TestData.features(400, 8, seed: 71, offset: 10)
        let disjoint = try PrecisionRecall(real: a, generated: far)
        #expect(disjoint.precision == 0 && disjoint.recall == 0)
        // Mode collapse: generated points concentrated near the origin are precise but cover little.
        let collapsed = TestData.features(400, 8, seed: 72, scale: 0.1)
        let pr = try PrecisionRecall(real: a, generated: collapsed)
        #expect(pr.precision > 0.9 && pr.recall < 0.2, "\(pr)")
    }

    @Test func kthNeighbourMatchesBruteForce() {
        let x = TestData.features(300, 5, seed: 73)
        let radii = PrecisionRecall.kthNeighbourDistances(x, k: 3)
        for i in [0, 17, 299] {
            var d: [Float] = []
            for j in 0..<300 where j != i {
                var s: Float = 0
                for t in 0..<5 { let u = x.data[i * 5 + t] - x.data[j * 5 + t]; s += u * u }
                d.append(s)
            }
            let third = d.sorted()[2]
            #expect(abs(radii[i] - third) <= 1e-4 * max(1, third))
        }
    }
}
