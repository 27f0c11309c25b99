import Testing
import TensorCore
import TestSupport

/// conv2dForward against a direct loop: the gradient checks only test backward against the
/// forward, so a forward that is wrong the same way in both would pass them.
@Suite struct ConvReferenceTests {
    func directConv(_ x: Tensor, _ w: Tensor, _ b: Tensor, stride s: Int, pad p: Int) -> Tensor {
        let (n, cin, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (cout, k) = (w.shape[0], w.shape[2])
        let ho = (h + 2 * p - k) / s + 1, wo = (wd + 2 * p - k) / s + 1
        var out = [Float](repeating: 0, count: n * cout * ho * wo)
        for i in 0..<n { for o in 0..<cout { for y in 0..<ho { for xo in 0..<wo {
            var acc = b.data[o]
            for c in 0..<cin { for a in 0..<k { for e in 0..<k {
                let iy = y * s - p + a, ix = xo * s - p + e
                if iy < 0 || iy >= h || ix < 0 || ix >= wd { continue }
                acc += x.data[((i * cin + c) * h + iy) * wd + ix] * w.data[((o * cin + c) * k + a) * k + e]
            } } }
            out[((i * cout + o) * ho + y) * wo + xo] = acc
        } } } }
        return Tensor(shape: [n, cout, ho, wo], data: out)
    }

    // Batches of 1, 5 and 9 images cover one image per GEMM and several (with a partial last group).
    @Test(arguments: [(3, 1, 1), (3, 2, 1), (1, 1, 0), (3, 1, 0), (3, 2, 0), (1, 2, 0)], [1, 5, 9])
    func forwardMatchesDirectLoop(kernel: (Int, Int, Int), batch: Int) {
        let (k, s, p) = kernel
        let x = randomTensor([batch, 3, 7, 6], seed: 21), w = randomTensor([4, 3, k, k], seed: 22)
        let b = randomTensor([4], seed: 23)
        let got = conv2dForward(x, w, b, stride: s, pad: p)
        #expect(maxAbsDifference(got, directConv(x, w, b, stride: s, pad: p)) < 1e-4)
    }
}
