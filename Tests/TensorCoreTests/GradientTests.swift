import Foundation
import Testing
import TensorCore
import TestSupport

/// Every op's backward against central finite differences (float32, so tolerances are ~1e-2).
@Suite struct GradientTests {
    let tol: Float = 2e-2

    @Test func arithmetic() {
        let a = randomTensor([2, 3, 4, 4], seed: 1), b = randomTensor([2, 3, 4, 4], seed: 2)
        #expect(gradCheck([a, b]) { $0[0] + $0[1] } < tol)
        #expect(gradCheck([a, b]) { $0[0] - $0[1] } < tol)
        #expect(gradCheck([a, b]) { $0[0] * $0[1] } < tol)
        #expect(gradCheck([a]) { $0[0] * 0.7 + 0.3 } < tol)
        #expect(gradCheck([a]) { scalePerSample($0[0], [0.5, -2]) } < tol)
    }

    @Test func linearAndMatmul() {
        let x = randomTensor([5, 7], seed: 3), w = randomTensor([4, 7], seed: 4), b = randomTensor([4], seed: 5)
        #expect(gradCheck([x, w, b]) { linear($0[0], weight: $0[1], bias: $0[2]) } < tol)
        let m = randomTensor([7, 3], seed: 6)
        #expect(gradCheck([x, m]) { matmul($0[0], $0[1]) } < tol)
    }

    @Test(arguments: [(3, 1, 1), (3, 2, 1), (1, 1, 0), (3, 1, 0), (3, 2, 0)])
    func conv2d(k: Int, stride: Int, pad: Int) {
        let x = randomTensor([2, 3, 7, 6], seed: 7), w = randomTensor([4, 3, k, k], seed: 8, scale: 0.5)
        let b = randomTensor([4], seed: 9)
        #expect(gradCheck([x, w, b]) { TensorCore.conv2d($0[0], weight: $0[1], bias: $0[2], stride: stride, padding: pad) } < tol)
    }

    @Test func groupNorm() {
        let x = randomTensor([2, 8, 3, 3], seed: 10), w = randomTensor([8], seed: 11), b = randomTensor([8], seed: 12)
        #expect(gradCheck([x, w, b], probes: 40) { TensorCore.groupNorm($0[0], groups: 4, weight: $0[1], bias: $0[2]) } < tol)
        #expect(gradCheck([x, w, b], probes: 40) {
            TensorCore.groupNorm($0[0], groups: 4, weight: $0[1], bias: $0[2], silu: true)
        } < tol)
        // The fused op equals GroupNorm followed by SiLU.
        let tape = Tape(recordsPullbacks: false)
        let (xv, wv, bv) = (tape.constant(x), tape.constant(w), tape.constant(b))
        let fused = TensorCore.groupNorm(xv, groups: 4, weight: wv, bias: bv, silu: true).value
        let split = silu(TensorCore.groupNorm(xv, groups: 4, weight: wv, bias: bv)).value
        #expect(maxAbsDifference(fused, split) < 1e-5)
    }

    @Test func activations() {
        let x = randomTensor([3, 10], seed: 13)
        #expect(gradCheck([x]) { silu($0[0]) } < tol)
        // Keep ReLU inputs away from the kink so finite differences are valid.
        let y = x.map { $0 >= 0 ? $0 + 0.1 : $0 - 0.1 }
        #expect(gradCheck([y]) { relu($0[0]) } < tol)
    }

    @Test func shapeOps() {
        let a = randomTensor([2, 3, 4, 4], seed: 14), b = randomTensor([2, 2, 4, 4], seed: 15)
        #expect(gradCheck([a, b]) { concatChannels($0[0], $0[1]) } < tol)
        #expect(gradCheck([a]) { resizeNearest($0[0], height: 8, width: 8) } < tol)
        #expect(gradCheck([a]) { resizeNearest($0[0], height: 7, width: 5) } < tol)
        #expect(gradCheck([a]) { reshape($0[0], [2, 48]) } < tol)
        let w = randomTensor([11, 6], seed: 16)
        #expect(gradCheck([w]) { embedding($0[0], indices: [3, 10, 3, 0]) } < tol)
    }

    @Test func biasAndConditioning() {
        let x = randomTensor([2, 3, 4, 4], seed: 17), b = randomTensor([3], seed: 18), e = randomTensor([2, 3], seed: 19)
        #expect(gradCheck([x, b]) { addBias($0[0], $0[1]) } < tol)
        #expect(gradCheck([x, e]) { addSampleChannel($0[0], $0[1]) } < tol)
    }

    @Test func reductions() {
        let x = randomTensor([2, 3, 4, 4], seed: 20), t = randomTensor([2, 3, 4, 4], seed: 21)
        #expect(gradCheck([x]) { mean($0[0]) } < tol)
        #expect(gradCheck([x]) { meanSquaredError($0[0], target: t) } < tol)
        #expect(gradCheck([x]) { meanSpatial($0[0]) } < tol)
    }

    @Test func tapeDoesNotLeak() {
        weak var weakTape: Tape?
        do {
            let tape = Tape()
            weakTape = tape
            let x = tape.variable(randomTensor([2, 3], seed: 1))
            let w = tape.variable(randomTensor([4, 3], seed: 2))
            let y = mean(silu(linear(x, weight: w, bias: nil)))
            _ = tape.backward(y)
        }
        #expect(weakTape == nil)
    }

    @Test func inferenceTapeKeepsNoPullbacks() {
        let tape = Tape(recordsPullbacks: false)
        let x = tape.variable(randomTensor([2, 3], seed: 1))
        let y = silu(x)
        let g = tape.backward(y)
        #expect(g.ifPresent(x) == nil)
    }
}

@Suite struct FastMathTests {
    @Test func vectorisedSiLUMatchesLibm() {
        var g = SplitMix64(seed: 3)
        let x = Tensor(shape: [4096], data: g.normals(4096).map { $0 * 12 } + [])
        let fast = siluForward(x)
        var worst: Float = 0
        for i in 0..<x.count {
            let v = x.data[i], exact = v / (1 + expf(-v))
            worst = max(worst, abs(fast.data[i] - exact) / max(1e-6, abs(exact)))
        }
        #expect(worst < 1e-5)
        // Saturation: no NaN or infinity at extreme inputs.
        let extreme = siluForward(Tensor(shape: [8], data: [-1e4, -200, -90, -88, 88, 90, 200, 1e4]))
        #expect(extreme.isFinite)
    }
}
