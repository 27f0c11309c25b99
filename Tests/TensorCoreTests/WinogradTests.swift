import Foundation
import Testing
import TensorCore
import TestSupport

/// Winograd F(2x2,3x3) and F(4x4,3x3) (issue 23): error against a double-precision direct convolution on
/// the reference UNet's 3x3 shapes, finite-difference gradients, and bits independent of the thread count.
@Suite struct WinogradTests {
    /// Direct 3x3 pad-1 conv and its gradients in Double.
    static func reference(x: Tensor, w: Tensor, dy: Tensor) -> (out: [Double], dx: [Double], dw: [Double]) {
        let (n, cin, h, wd, cout) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], w.shape[0])
        var out = [Double](repeating: 0, count: n * cout * h * wd)
        var dx = [Double](repeating: 0, count: x.count), dw = [Double](repeating: 0, count: w.count)
        let xd = x.data.map(Double.init), wdd = w.data.map(Double.init), dyd = dy.data.map(Double.init)
        for i in 0..<n { for o in 0..<cout { for ch in 0..<cin { for a in 0..<3 { for e in 0..<3 {
            let wv = wdd[((o * cin + ch) * 3 + a) * 3 + e]
            var dwv = 0.0
            for y in 0..<h {
                let iy = y - 1 + a
                if iy < 0 || iy >= h { continue }
                for xo in 0..<wd {
                    let ix = xo - 1 + e
                    if ix < 0 || ix >= wd { continue }
                    let oi = ((i * cout + o) * h + y) * wd + xo, xi = ((i * cin + ch) * h + iy) * wd + ix
                    out[oi] += xd[xi] * wv
                    dx[xi] += dyd[oi] * wv
                    dwv += dyd[oi] * xd[xi]
                }
            }
            dw[((o * cin + ch) * 3 + a) * 3 + e] += dwv
        } } } } }
        return (out, dx, dw)
    }

    /// max |a - r| / max |r| (the error relative to the tensor's scale).
    static func relError(_ a: [Float], _ r: [Double]) -> Double {
        var e = 0.0, m = 0.0
        for i in r.indices { e = max(e, abs(Double(a[i]) - r[i])); m = max(m, abs(r[i])) }
        return e / max(m, 1e-30)
    }

    /// UNet shapes (side, cin, cout) at batch 2 (weights N(0, 1/fan_in), inputs N(0, 1)).
    static let shapes = [(28, 32, 32), (28, 96, 32), (14, 64, 64), (14, 128, 64), (7, 128, 64), (7, 64, 64)]

    /// The worst relative errors over the shapes, per algorithm, for the forward, dX and dW.
    static func errors(_ a: ConvAlgorithm) -> (fwd: Double, dx: Double, dw: Double) {
        var worst = (fwd: 0.0, dx: 0.0, dw: 0.0)
        for (k, (s, cin, cout)) in shapes.enumerated() {
            let seed = UInt64(100 + 10 * k)
            let x = randomTensor([2, cin, s, s], seed: seed)
            let w = randomTensor([cout, cin, 3, 3], seed: seed + 1, scale: 1 / Float(9 * cin).squareRoot())
            let dy = randomTensor([2, cout, s, s], seed: seed + 2)
            let r = reference(x: x, w: w, dy: dy)
            let y = conv2dForward(x, w, nil, stride: 1, pad: 1, algorithm: a)
            let g = conv2dBackward(x, w, dy, stride: 1, pad: 1, needInput: true, needWeight: true, needBias: false, algorithm: a)
            worst.fwd = max(worst.fwd, relError(y.data, r.out))
            worst.dx = max(worst.dx, relError(g.input!.data, r.dx))
            worst.dw = max(worst.dw, relError(g.weight!.data, r.dw))
        }
        return worst
    }

    /// Measured 2026-12-05 (worst of fwd / dX / dW over the shapes): taps 2.7e-7 / 2.4e-7 / 4.0e-7, F(2x2) 4.6e-7 /
    /// 3.5e-7 / 7.1e-7, F(4x4) 1.2e-5 / 6.2e-6 / 5.0e-6. The bounds are 3-4x those.
    @Test func errorAgainstDirectConvolution() {
        let taps = Self.errors(.taps), f2 = Self.errors(.winograd2), f4 = Self.errors(.winograd4)
        print("winograd relative error (fwd, dx, dw): taps \(taps) F(2x2) \(f2) F(4x4) \(f4)")
        for (e, bound) in [(taps, 1e-6), (f2, 3e-6), (f4, 4e-5)] {
            #expect(e.fwd < bound && e.dx < bound && e.dw < bound)
        }
    }

    /// conv2d on the tape with a given lowering (bias and gradient as `TensorCore.conv2d`).
    static func conv(_ x: Var, _ w: Var, _ b: Var, _ a: ConvAlgorithm) -> Var {
        let (xv, wv) = (x.value, w.value)
        let out = conv2dForward(xv, wv, b.value, stride: 1, pad: 1, algorithm: a)
        return x.tape.record(out, parents: [x, w, b]) { g, needs in
            let r = conv2dBackward(xv, wv, g, stride: 1, pad: 1, needInput: needs[0], needWeight: needs[1],
                                   needBias: needs[2], algorithm: a)
            return [r.input, r.weight, r.bias]
        }
    }

    @Test(arguments: [ConvAlgorithm.winograd2, .winograd4])
    func finiteDifferenceGradients(algorithm: ConvAlgorithm) {
        let x = randomTensor([3, 8, 7, 9], seed: 7), w = randomTensor([5, 8, 3, 3], seed: 8, scale: 0.3)
        let b = randomTensor([5], seed: 9)
        let err = gradCheck([x, w, b], probes: 40) { Self.conv($0[0], $0[1], $0[2], algorithm) }
        #expect(err < 2e-2)
    }

    /// The tape's conv2d with `FS_CONV_WINOGRAD` forced to each tile passes the same finite-difference check.
    @Test(arguments: [WinogradSelection.f2, .f4])
    func forcedSelectionGradients(mode: WinogradSelection) {
        let saved = WinogradSelection.mode
        defer { WinogradSelection.mode = saved }
        WinogradSelection.mode = mode
        let x = randomTensor([2, 9, 6, 5], seed: 17), w = randomTensor([4, 9, 3, 3], seed: 18, scale: 0.3)
        let b = randomTensor([4], seed: 19)
        #expect(gradCheck([x, w, b]) { TensorCore.conv2d($0[0], weight: $0[1], bias: $0[2], stride: 1, padding: 1) } < 2e-2)
        // and it really ran Winograd: the forward equals the explicit algorithm's bits
        let auto = conv2dForward(x, w, b, stride: 1, pad: 1)
        let explicit = conv2dForward(x, w, b, stride: 1, pad: 1, algorithm: mode == .f2 ? .winograd2 : .winograd4)
        #expect(auto.data == explicit.data)
    }

    /// Forward, dX and dW give the same bits at 1, 2 and 3 threads (dW: fixed chunks of 8 samples).
    @Test(arguments: [ConvAlgorithm.winograd2, .winograd4])
    func sameBitsAtAnyThreadCount(algorithm: ConvAlgorithm) {
        let saved = ComputeThreads.count
        defer { ComputeThreads.set(saved) }
        let x = randomTensor([19, 16, 14, 14], seed: 21), w = randomTensor([8, 16, 3, 3], seed: 22, scale: 0.2)
        let b = randomTensor([8], seed: 23), dy = randomTensor([19, 8, 14, 14], seed: 24)
        var results: [[[Float]]] = []
        for t in [1, 2, 3] {
            ComputeThreads.set(t)
            let y = conv2dForward(x, w, b, stride: 1, pad: 1, algorithm: algorithm)
            let g = conv2dBackward(x, w, dy, stride: 1, pad: 1, needInput: true, needWeight: true, needBias: true,
                                   algorithm: algorithm)
            results.append([y.data, g.input!.data, g.weight!.data, g.bias!.data])
        }
        #expect(results[0] == results[1] && results[0] == results[2])
    }
}
