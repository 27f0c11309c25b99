import Testing
import TensorCore
import TestSupport

/// im2col and its adjoint in AVX-512 (CConv) against the Swift loops: the im2col lowering's forward, dX and dW
/// give the same bits with `VectorConvKernels` on and off, over kernel sizes, strides 1 and 2, paddings and
/// widths of more than one 16-lane chunk, and match a direct convolution.
@Suite(.serialized) struct Im2colTests {
    // (h, w, k, stride, pad)
    static let geometries = [(28, 28, 3, 2, 1), (14, 14, 3, 2, 1), (28, 28, 3, 1, 1), (7, 9, 3, 2, 1), (40, 37, 3, 1, 1),
                             (40, 37, 3, 2, 1), (35, 66, 4, 2, 2), (5, 5, 5, 1, 2), (9, 8, 2, 2, 0), (3, 3, 3, 2, 0),
                             (6, 70, 1, 2, 0), (17, 35, 3, 2, 3)]

    /// On a CPU without AVX-512F/BMI2 there is only the Swift path: nothing to compare.
    @Test(.enabled(if: VectorConvKernels.available)) func sameBitsAsSwiftLoops() {
        for (n, (h, w, k, s, p)) in Self.geometries.enumerated() {
            let seed = UInt64(900 + 10 * n)
            let x = randomTensor([2, 3, h, w], seed: seed), wt = randomTensor([4, 3, k, k], seed: seed + 1, scale: 0.3)
            let b = randomTensor([4], seed: seed + 2)
            let y0 = conv2dForward(x, wt, b, stride: s, pad: p, algorithm: .im2col)
            let dy = randomTensor(y0.shape, seed: seed + 3)
            func run() -> [[Float]] {
                let y = conv2dForward(x, wt, b, stride: s, pad: p, algorithm: .im2col)
                let g = conv2dBackward(x, wt, dy, stride: s, pad: p, needInput: true, needWeight: true, needBias: false,
                                       algorithm: .im2col)
                return [y.data, g.input!.data, g.weight!.data]
            }
            let saved = VectorConvKernels.enabled
            defer { VectorConvKernels.enabled = saved }
            VectorConvKernels.enabled = true
            let v = run()
            VectorConvKernels.enabled = false
            let r = run()
            for (i, name) in ["forward", "dX", "dW"].enumerated() {
                #expect(zip(v[i], r[i]).allSatisfy { $0.bitPattern == $1.bitPattern }, "\(name) differs at \(h)x\(w) k\(k) s\(s) p\(p)")
            }
            // and it is the convolution: against the direct sum in Double
            let (ho, wo) = (y0.shape[2], y0.shape[3])
            var worst = 0.0
            for o in 0..<4 { for oy in 0..<ho { for ox in 0..<wo {
                var acc = Double(b.data[o])
                for c in 0..<3 { for i in 0..<k { for j in 0..<k {
                    let iy = oy * s - p + i, ix = ox * s - p + j
                    if iy < 0 || iy >= h || ix < 0 || ix >= w { continue }
                    acc += Double(x.data[(c * h + iy) * w + ix]) * Double(wt.data[((o * 3 + c) * k + i) * k + j])
                } } }
                worst = max(worst, abs(acc - Double(v[0][(o * ho + oy) * wo + ox])))
            } } }
            #expect(worst < 1e-4, "forward at \(h)x\(w) k\(k) s\(s) p\(p) is \(worst) from the direct sum")
        }
    }

    @Test func finiteDifferenceGradients() {
        let saved = VectorConvKernels.enabled
        defer { VectorConvKernels.enabled = saved }
        VectorConvKernels.enabled = true
        let x = randomTensor([2, 3, 9, 11], seed: 81), w = randomTensor([4, 3, 3, 3], seed: 82, scale: 0.3)
        let b = randomTensor([4], seed: 83)
        let err = gradCheck([x, w, b], probes: 40) { v in
            let (xv, wv) = (v[0].value, v[1].value)
            let out = conv2dForward(xv, wv, v[2].value, stride: 2, pad: 1, algorithm: .im2col)
            return v[0].tape.record(out, parents: [v[0], v[1], v[2]]) { g, needs in
                let r = conv2dBackward(xv, wv, g, stride: 2, pad: 1, needInput: needs[0], needWeight: needs[1],
                                       needBias: needs[2], algorithm: .im2col)
                return [r.input, r.weight, r.bias]
            }
        }
        #expect(err < 2e-2)
    }
}
