import Testing
import TensorCore
import TestSupport

/// GroupNorm(+SiLU) and the 1x1 conv reading a channel concatenation in place (`parts:`): the same bits as
/// concatenating first, forward and backward (each part's gradient equals its slice of the concatenation's), with
/// groups inside one part and groups spanning two; and finite differences through both.
@Suite(.serialized) struct ChannelPartsTests {
    static func bits(_ a: [Float]) -> [UInt32] { a.map(\.bitPattern) }

    /// Channels of the two parts and the group count: aligned groups, a group across the seam, one group.
    static let layouts = [(8, 4, 3), (6, 6, 4), (4, 4, 1), (16, 8, 8)]

    @Test func groupNormSameBitsAsConcatenated() {
        for (k, (ca, cb, groups)) in Self.layouts.enumerated() {
            let seed = UInt64(300 + 10 * k), n = 3, c = ca + cb
            let a = randomTensor([n, ca, 5, 7], seed: seed), b = randomTensor([n, cb, 5, 7], seed: seed + 1)
            let w = randomTensor([c], seed: seed + 2), bias = randomTensor([c], seed: seed + 3)
            let dy = randomTensor([n, c, 5, 7], seed: seed + 4)
            for silu in [false, true] {
                let tape = Tape()
                let (av, bv, wv, biv) = (tape.variable(a), tape.variable(b), tape.variable(w), tape.variable(bias))
                let whole = groupNorm(concatChannels(av, bv), groups: groups, weight: wv, bias: biv, silu: silu)
                let g1 = tape.backward(whole, seed: dy)
                let tape2 = Tape()
                let (a2, b2, w2, bi2) = (tape2.variable(a), tape2.variable(b), tape2.variable(w), tape2.variable(bias))
                let inPlace = groupNorm(parts: [a2, b2], groups: groups, weight: w2, bias: bi2, silu: silu)
                let g2 = tape2.backward(inPlace, seed: dy)
                let what = "\(ca)+\(cb) channels, \(groups) groups, silu \(silu)"
                #expect(Self.bits(inPlace.value.data) == Self.bits(whole.value.data), "forward: \(what)")
                #expect(inPlace.shape == whole.shape)
                for (x, y, name) in [(g1[av], g2[a2], "dA"), (g1[bv], g2[b2], "dB"), (g1[wv], g2[w2], "dW"),
                                     (g1[biv], g2[bi2], "dBias")] {
                    #expect(Self.bits(x.data) == Self.bits(y.data), "\(name): \(what)")
                }
            }
        }
    }

    @Test func pointwiseConvSameBitsAsConcatenated() {
        let savedThreads = ComputeThreads.count
        defer { ComputeThreads.set(savedThreads) }
        for (k, (ca, cb, _)) in Self.layouts.enumerated() {
            let seed = UInt64(400 + 10 * k), n = 11, c = ca + cb, cout = 5   // 11 samples: two reduction chunks
            let a = randomTensor([n, ca, 6, 5], seed: seed), b = randomTensor([n, cb, 6, 5], seed: seed + 1)
            let w = randomTensor([cout, c, 1, 1], seed: seed + 2, scale: 0.3), bias = randomTensor([cout], seed: seed + 3)
            let dy = randomTensor([n, cout, 6, 5], seed: seed + 4)
            for threads in [1, 2] {
                ComputeThreads.set(threads)
                let tape = Tape()
                let (av, bv, wv, biv) = (tape.variable(a), tape.variable(b), tape.variable(w), tape.variable(bias))
                let whole = conv2d(concatChannels(av, bv), weight: wv, bias: biv)
                let g1 = tape.backward(whole, seed: dy)
                let tape2 = Tape()
                let (a2, b2, w2, bi2) = (tape2.variable(a), tape2.variable(b), tape2.variable(w), tape2.variable(bias))
                let inPlace = conv2d(parts: [a2, b2], weight: w2, bias: bi2)
                let g2 = tape2.backward(inPlace, seed: dy)
                let what = "\(ca)+\(cb) channels, \(threads) threads"
                #expect(Self.bits(inPlace.value.data) == Self.bits(whole.value.data), "forward: \(what)")
                for (x, y, name) in [(g1[av], g2[a2], "dA"), (g1[bv], g2[b2], "dB"), (g1[wv], g2[w2], "dW"),
                                     (g1[biv], g2[bi2], "dBias")] {
                    #expect(Self.bits(x.data) == Self.bits(y.data), "\(name): \(what)")
                }
            }
        }
    }

    @Test func finiteDifferences() {
        let a = randomTensor([2, 6, 3, 4], seed: 81), b = randomTensor([2, 6, 3, 4], seed: 82)
        let w = randomTensor([12], seed: 83), bias = randomTensor([12], seed: 84)
        let cw = randomTensor([3, 12, 1, 1], seed: 85, scale: 0.4), cb = randomTensor([3], seed: 86)
        #expect(gradCheck([a, b, w, bias], probes: 40) {
            groupNorm(parts: [$0[0], $0[1]], groups: 4, weight: $0[2], bias: $0[3], silu: true)
        } < 2e-2)
        #expect(gradCheck([a, b, cw, cb], probes: 40) { conv2d(parts: [$0[0], $0[1]], weight: $0[2], bias: $0[3]) } < 2e-2)
    }
}
