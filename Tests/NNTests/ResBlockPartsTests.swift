import Testing
import NN
import TensorCore
import TestSupport

/// A decoder block reading [upsampled, skip] in place (`ResBlock(parts:)`) against the same block on their
/// concatenation: the same output and the same gradients for both inputs and every parameter, bit for bit, with
/// the skip also feeding an earlier op (as the encoder's output does) and a group across the seam.
@Suite struct ResBlockPartsTests {
    @Test func sameBitsAsTheConcatenatedBlock() {
        let (n, ca, cb, cout) = (3, 8, 4, 8)   // 12 channels in 4 groups of 3: one group spans the seam
        let block = ResBlock("up.0.block", ca + cb, cout, embedDim: 16, groups: 4)
        var weights = block.initialParameters(seed: 5)
        for (i, (k, t)) in weights.items.enumerated() { weights[k] = t + randomTensor(t.shape, seed: UInt64(60 + i), scale: 0.1) }
        let a = randomTensor([n, ca, 6, 6], seed: 1), b = randomTensor([n, cb, 6, 6], seed: 2)
        let e = randomTensor([n, 16], seed: 3), dy = randomTensor([n, cout + cb, 6, 6], seed: 4)
        func run(inPlace: Bool) -> [Tensor] {
            let tape = Tape()
            let p = tape.bind(weights)
            let (av, bv, ev) = (tape.variable(a), tape.variable(b), tape.variable(e))
            let earlier = silu(bv)   // the skip's other consumer, recorded first
            let y = inPlace ? block(parts: [av, bv], siluEmb: ev, p) : block(concatChannels(av, bv), siluEmb: ev, p)
            let g = tape.backward(concatChannels(y, earlier), seed: dy)
            return [y.value, g[av], g[bv], g[ev]] + weights.keys.map { g[p[$0]] }
        }
        let (fused, plain) = (run(inPlace: true), run(inPlace: false))
        let names = ["output", "dA", "dB", "dEmb"] + weights.keys
        for (i, name) in names.enumerated() {
            #expect(fused[i].data.map(\.bitPattern) == plain[i].data.map(\.bitPattern), "\(name) differs")
        }
    }
}
