import CConv
import Foundation
import Testing
@testable import TensorCore
import TestSupport

/// The AVX2 transformed-domain product (`cwino2_gemm`, session 31): every element equals a scalar fused
/// multiply-add chain over k in order, on shapes that take each of its paths (4-row and 1-row tiles, 16- and
/// 8-column blocks, tail columns of 32, 8 and single rows); the transpose that feeds its tail; and Winograd
/// convolutions on it stay convolutions.
@Suite(.serialized) struct WinogradGemmTests {
    static func chain(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for r in 0..<m {
            for j in 0..<n {
                var s: Float = 0
                for p in 0..<k { s = s.addingProduct(a[r * k + p], b[p * n + j]) }   // fma, in order
                c[r * n + j] = s + 0
            }
        }
        return c
    }

    @Test(.enabled(if: cwino2_gemm_available() != 0))
    func bitsEqualAScalarFusedChain() {
        let shapes = [(1, 1, 1), (3, 7, 5), (4, 8, 3), (5, 16, 32), (8, 17, 9), (12, 24, 64), (32, 49, 32),
                      (37, 50, 33), (64, 49, 128), (64, 16, 64), (40, 15, 7)]
        for (i, (m, n, k)) in shapes.enumerated() {
            let a = randomTensor([m, k], seed: UInt64(900 + i)).data, b = randomTensor([k, n], seed: UInt64(950 + i)).data
            var at = [Float](repeating: .nan, count: m * k)
            cwino2_transpose(m, k, a, &at)   // as WinogradProducts makes it (checked below)
            var c = [Float](repeating: .nan, count: m * n)
            cwino2_gemm(m, n, k, a, at, b, &c)
            let want = Self.chain(a, b, m: m, n: n, k: k)
            let differ = zip(c, want).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differ == 0, "\(m)x\(n)x\(k): \(differ) of \(m * n) elements differ from the fused chain")
        }
    }

    /// The transpose that makes Uᵀ: 8 x 8 register blocks, then the edges, on shapes with and without them.
    @Test func transposeMovesEveryElement() {
        for (rows, cols) in [(1, 1), (3, 5), (8, 8), (9, 17), (16, 24), (64, 49), (37, 130)] {
            let src = (0..<rows * cols).map { Float($0) + 0.5 }
            var dst = [Float](repeating: .nan, count: rows * cols)
            cwino2_transpose(rows, cols, src, &dst)
            var wrong = 0
            for r in 0..<rows { for c in 0..<cols where dst[c * rows + r] != src[r * cols + c] { wrong += 1 } }
            #expect(wrong == 0, "\(rows)x\(cols): \(wrong) elements misplaced")
        }
    }

    /// Winograd forward and input gradient with the AVX2 products against OpenBLAS's: the same convolution to
    /// float rounding (the summation orders differ), both near the direct taps.
    @Test(.enabled(if: cwino2_gemm_available() != 0), arguments: [ConvAlgorithm.winograd2, .winograd4])
    func convolutionMatchesOpenBLASProducts(algorithm: ConvAlgorithm) {
        let saved = VectorConvKernels.winogradGemmAVX2
        defer { VectorConvKernels.winogradGemmAVX2 = saved }
        for (i, (h, w, cin, cout)) in [(28, 28, 32, 32), (14, 14, 33, 40), (7, 9, 5, 3)].enumerated() {
            let seed = UInt64(700 + 10 * i)
            let x = randomTensor([3, cin, h, w], seed: seed), wt = randomTensor([cout, cin, 3, 3], seed: seed + 1, scale: 0.2)
            let b = randomTensor([cout], seed: seed + 2), dy = randomTensor([3, cout, h, w], seed: seed + 3)
            func run(_ on: Bool) -> (Tensor, Tensor) {
                VectorConvKernels.winogradGemmAVX2 = on
                let y = conv2dForward(x, wt, b, stride: 1, pad: 1, algorithm: algorithm)
                let g = conv2dBackward(x, wt, dy, stride: 1, pad: 1, needInput: true, needWeight: false, needBias: false,
                                       algorithm: algorithm)
                return (y, g.input!)
            }
            let (avx2, blas) = (run(true), run(false))
            let taps = conv2dForward(x, wt, b, stride: 1, pad: 1, algorithm: .taps)
            for (name, p, q) in [("forward", avx2.0, blas.0), ("dX", avx2.1, blas.1)] {
                let scale = q.data.map { abs($0) }.max() ?? 1
                #expect(maxAbsDifference(p, q) <= 1e-5 * scale, "\(name) at \(h)x\(w) \(cin)->\(cout)")
            }
            #expect(maxAbsDifference(avx2.0, taps) <= 1e-4 * (taps.data.map { abs($0) }.max() ?? 1))
        }
    }
}
