import Testing
import TensorCore
import TestSupport

/// The vectorized Winograd transforms (CConv: AVX-512, and AVX2) against the Swift ones: the same bits for the
/// forward (with each epilogue: bias, per-sample bias, residual), dX and dW, on sizes that leave partial tile
/// chunks, partial tiles and planes smaller than one chunk; plus finite differences through the tape on the
/// vectorized path.
@Suite(.serialized) struct WinogradTransformsTests {
    enum Kernels { case avx512, avx2 }

    /// Runs `body` with the given vectorized transforms, then with the Swift ones (only called where the CPU
    /// has them).
    static func bothWays<T>(_ kernels: Kernels, _ body: () -> T) -> (vectorized: T, swift: T) {
        let saved = (VectorConvKernels.enabled, VectorConvKernels.winogradAVX2)
        defer { (VectorConvKernels.enabled, VectorConvKernels.winogradAVX2) = saved }
        (VectorConvKernels.enabled, VectorConvKernels.winogradAVX2) = (kernels == .avx512, kernels == .avx2)
        let v = body()
        (VectorConvKernels.enabled, VectorConvKernels.winogradAVX2) = (false, false)
        return (v, body())
    }

    static let sizes = [(1, 1), (2, 3), (5, 7), (7, 7), (9, 13), (14, 14), (28, 28), (29, 31), (33, 61), (64, 8)]

    /// On a CPU without AVX-512F/BMI2 there is no AVX-512 path: nothing to compare.
    @Test(.enabled(if: VectorConvKernels.available), arguments: [ConvAlgorithm.winograd2, .winograd4])
    func avx512SameBitsAsSwiftTransforms(algorithm: ConvAlgorithm) {
        Self.sameBitsAsSwiftTransforms(.avx512, algorithm: algorithm)
    }

    @Test(.enabled(if: VectorConvKernels.winogradAVX2Available), arguments: [ConvAlgorithm.winograd2, .winograd4])
    func avx2SameBitsAsSwiftTransforms(algorithm: ConvAlgorithm) {
        Self.sameBitsAsSwiftTransforms(.avx2, algorithm: algorithm)
    }

    static func sameBitsAsSwiftTransforms(_ kernels: Kernels, algorithm: ConvAlgorithm) {
        for (k, (h, w)) in Self.sizes.enumerated() {
            let seed = UInt64(500 + 10 * k)
            let (n, cin, cout) = (3, 5, 4)
            let x = randomTensor([n, cin, h, w], seed: seed), wt = randomTensor([cout, cin, 3, 3], seed: seed + 1, scale: 0.3)
            let b = randomTensor([cout], seed: seed + 2), e = randomTensor([n, cout], seed: seed + 3)
            let res = randomTensor([n, cout, h, w], seed: seed + 4), dy = randomTensor([n, cout, h, w], seed: seed + 5)
            let r = Self.bothWays(kernels) { () -> [[Float]] in
                let plain = conv2dForward(x, wt, b, stride: 1, pad: 1, algorithm: algorithm)
                let sample = conv2dForward(x, wt, b, stride: 1, pad: 1, sampleBias: e, algorithm: algorithm)
                let both = conv2dForward(x, wt, b, stride: 1, pad: 1, sampleBias: e, residual: res, algorithm: algorithm)
                let resid = conv2dForward(x, wt, b, stride: 1, pad: 1, residual: res, algorithm: algorithm)
                let g = conv2dBackward(x, wt, dy, stride: 1, pad: 1, needInput: true, needWeight: true, needBias: false,
                                       algorithm: algorithm)
                return [plain.data, sample.data, both.data, resid.data, g.input!.data, g.weight!.data]
            }
            for (i, name) in ["forward", "sample bias", "sample bias + residual", "residual", "dX", "dW"].enumerated() {
                let same = zip(r.vectorized[i], r.swift[i]).allSatisfy { $0.bitPattern == $1.bitPattern }
                #expect(same, "\(kernels): \(name) differs at \(h)x\(w)")
            }
            // and the result is a convolution (not two equal wrong answers): close to the direct taps
            let taps = conv2dForward(x, wt, b, stride: 1, pad: 1, algorithm: .taps)
            let worst = zip(r.vectorized[0], taps.data).map { abs($0 - $1) }.max() ?? 0
            #expect(worst < 1e-4, "forward at \(h)x\(w) is \(worst) from the taps")
        }
    }

    @Test(arguments: [ConvAlgorithm.winograd2, .winograd4])
    func finiteDifferenceGradients(algorithm: ConvAlgorithm) {
        let saved = (VectorConvKernels.enabled, VectorConvKernels.winogradAVX2)
        defer { (VectorConvKernels.enabled, VectorConvKernels.winogradAVX2) = saved }
        (VectorConvKernels.enabled, VectorConvKernels.winogradAVX2) = (true, true)
        let x = randomTensor([2, 6, 11, 10], seed: 71), w = randomTensor([5, 6, 3, 3], seed: 72, scale: 0.3)
        let b = randomTensor([5], seed: 73)
        let err = gradCheck([x, w, b], probes: 40) { WinogradTests.conv($0[0], $0[1], $0[2], algorithm) }
        #expect(err < 2e-2)
    }
}
