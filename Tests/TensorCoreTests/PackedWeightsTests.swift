import Testing
import TensorCore
import TestSupport

/// Issue 23: conv weights in a kernel's layout kept across inference calls (`PackedWeights`). A hit must
/// give exactly the bits of a fresh transform, changed weights must miss, and training tapes never fill it.
@Suite(.serialized) struct PackedWeightsTests {
    /// (algorithm, size, cin, cout): F(4x4), F(2x2) and the taps.
    static let cases: [(ConvAlgorithm, Int, Int, Int)] = [(.winograd4, 28, 32, 32), (.winograd2, 14, 64, 64), (.taps, 7, 64, 64)]

    @Test func keptWeightsGiveTheBitsOfAFreshTransform() {
        PackedWeights.removeAll()
        for (i, (a, s, cin, cout)) in Self.cases.enumerated() {
            let x = randomTensor([3, cin, s, s], seed: UInt64(10 + i))
            var w = randomTensor([cout, cin, 3, 3], seed: UInt64(20 + i), scale: 0.1)
            let b = randomTensor([cout], seed: UInt64(30 + i))
            let fresh = conv2dForward(x, w, b, stride: 1, pad: 1, algorithm: a)
            let before = PackedWeights.count
            let first = conv2dForward(x, w, b, stride: 1, pad: 1, algorithm: a, keepPackedWeights: true)
            #expect(PackedWeights.count == before + 1, "\(a): a miss adds an entry")
            let second = conv2dForward(x, w, b, stride: 1, pad: 1, algorithm: a, keepPackedWeights: true)
            #expect(PackedWeights.count == before + 1, "\(a): a hit adds none")
            #expect(first.data == fresh.data && second.data == fresh.data, "\(a)")
            // One changed weight (its last bit): a miss, and the result of the new weights.
            w.data[5] = Float(bitPattern: w.data[5].bitPattern ^ 1)
            let changed = conv2dForward(x, w, b, stride: 1, pad: 1, algorithm: a, keepPackedWeights: true)
            #expect(PackedWeights.count == before + 2, "\(a): changed weights miss")
            #expect(changed.data == conv2dForward(x, w, b, stride: 1, pad: 1, algorithm: a).data, "\(a) changed")
        }
    }

    /// The tape op keeps weights only on inference tapes, and its values and gradients are the plain conv's.
    @Test func onlyInferenceTapesKeepWeights() {
        PackedWeights.removeAll()
        let x = randomTensor([2, 32, 28, 28], seed: 1), w = randomTensor([32, 32, 3, 3], seed: 2, scale: 0.1)
        let b = randomTensor([32], seed: 3)
        let train = Tape()
        let y = conv2d(train.variable(x), weight: train.variable(w), bias: train.variable(b), padding: 1)
        #expect(PackedWeights.count == 0)
        let infer = Tape(recordsPullbacks: false)
        let z = conv2d(infer.constant(x), weight: infer.constant(w), bias: infer.constant(b), padding: 1)
        #expect(PackedWeights.count == 1)
        #expect(y.value.data == z.value.data)
        let small = randomTensor([1, 8, 6, 6], seed: 4), ws = randomTensor([8, 8, 3, 3], seed: 5, scale: 0.3)
        #expect(gradCheck([small, ws]) { v in conv2d(v[0], weight: v[1], bias: nil, padding: 1) } < 2e-2)
    }

    /// The cache stays within its capacity.
    @Test func staysWithinCapacity() {
        PackedWeights.removeAll()
        let x = randomTensor([1, 128, 14, 14], seed: 6)
        for i in 0..<40 {
            let w = randomTensor([128, 128, 3, 3], seed: UInt64(100 + i))
            _ = conv2dForward(x, w, nil, stride: 1, pad: 1, algorithm: .winograd2, keepPackedWeights: true)
        }
        // 128 x 128 x (9 + 16) floats per entry: at most capacity / 409600 of them.
        #expect(PackedWeights.count <= PackedWeights.capacity / (128 * 128 * 25))
        #expect(PackedWeights.count >= 1)
        PackedWeights.removeAll()
    }
}
