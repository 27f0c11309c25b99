import Testing
@testable import TensorCore

@Suite struct RandomTests {
    @Test func splitMixMatchesReferenceSequence() {
        // Reference values of SplitMix64 seeded with 0 (Vigna's splitmix64.c).
        var g = SplitMix64(seed: 0)
        #expect(g.next() == 0xE220_A839_7B1D_CDAF)
        #expect(g.next() == 0x6E78_9E6A_A1B9_65F4)
    }

    @Test func perSampleNoiseIndependentOfBatch() {
        let both = Tensor.perSampleNoise(seeds: [7, 8], sampleShape: [1, 2, 2])
        let alone = Tensor.perSampleNoise(seeds: [8], sampleShape: [1, 2, 2])
        #expect(Array(both.data[4..<8]) == alone.data)
    }

    @Test func normalsHaveUnitMoments() {
        var g = SplitMix64(seed: 42)
        let x = g.normals(200_000)
        let mean = x.reduce(0, +) / Float(x.count)
        let variance = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(x.count)
        #expect(abs(mean) < 0.01)
        #expect(abs(variance - 1) < 0.01)
    }
}
