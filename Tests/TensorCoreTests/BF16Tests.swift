import Foundation
import Testing
import TensorCore
import TestSupport

/// The bf16 compute mode (issue 23): the AVX512_BF16 GEMM against a double-precision product of the same
/// bf16-rounded operands (exact products, fp32 sums), its error against fp32, bits independent of how the
/// rows and columns are split, and the layers' forward and gradients in bf16 against fp32.
@Suite(.serialized, .enabled(if: ComputePrecision.bf16Available, "needs AVX512_BF16"))
struct BF16Tests {
    static func product(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ a: [Float], _ b: [Float],
                        alpha: Float, beta: Float, c: [Float]) -> [Double] {
        let (lda, ldb) = (ta ? m : k, tb ? k : n)
        var out = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for q in 0..<k { s += Double(ta ? a[q * lda + i] : a[i * lda + q]) * Double(tb ? b[j * ldb + q] : b[q * ldb + j]) }
                out[i * n + j] = Double(alpha) * s + (beta == 0 ? 0 : Double(beta) * Double(c[i * n + j]))
            }
        }
        return out
    }

    static func run(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ a: [Float], _ b: [Float],
                    alpha: Float, beta: Float, c: [Float]) -> [Float] {
        var out = c
        out.withUnsafeMutableBufferPointer { o in
            bf16gemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: alpha, a: a, b: b, beta: beta, c: o.baseAddress!)
        }
        return out
    }

    /// Odd sizes, every transpose, k past one 256-wide block, beta 0 (C holds NaN and must not be read) and 0.5:
    /// equal to the double product of the rounded operands up to fp32 summation (measured <= 2e-6 absolute on
    /// sums of ~600 terms of size 0.25).
    @Test func matchesExactProductOfRoundedOperands() {
        for (s, (m, n, k)) in [(1, 1, 1), (7, 5, 3), (64, 49, 64), (33, 100, 257), (130, 531, 600), (9, 40, 31)].enumerated() {
            for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                let a = randomTensor([m * k], seed: UInt64(10 * s + 1)).data, b = randomTensor([k * n], seed: UInt64(10 * s + 2)).data
                for beta: Float in [0, 0.5] {
                    let c = beta == 0 ? [Float](repeating: .nan, count: m * n) : randomTensor([m * n], seed: 3).data
                    let got = Self.run(ta, tb, m, n, k, a, b, alpha: 0.7, beta: beta, c: c)
                    let ref = Self.product(ta, tb, m, n, k, roundedToBFloat16(a), roundedToBFloat16(b), alpha: 0.7, beta: beta, c: c)
                    var worst = 0.0
                    for i in ref.indices { worst = max(worst, abs(Double(got[i]) - ref[i]) / (Double(k).squareRoot() + 1)) }
                    #expect(worst < 2e-6, "m \(m) n \(n) k \(k) ta \(ta) tb \(tb) beta \(beta): \(worst)")
                }
            }
        }
    }

    /// Against the fp32 product of the unrounded operands: bf16 keeps 8 significant bits, so the error is
    /// bounded by 2^-8 * sum |a_i b_i| per element (each operand within 2^-9 relative); measured 2e-3 to 4e-3
    /// of the root-mean-square output on N(0,1) data.
    @Test func errorAgainstFP32IsWithinBF16Rounding() {
        let (m, n, k) = (64, 300, 576)
        let a = randomTensor([m * k], seed: 41).data, b = randomTensor([k * n], seed: 42).data
        let got = Self.run(false, false, m, n, k, a, b, alpha: 1, beta: 0, c: [Float](repeating: 0, count: m * n))
        let ref = Self.product(false, false, m, n, k, a, b, alpha: 1, beta: 0, c: [])
        var rms = 0.0, errRMS = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var absSum = 0.0
                for q in 0..<k { absSum += abs(Double(a[i * k + q]) * Double(b[q * n + j])) }
                let e = abs(Double(got[i * n + j]) - ref[i * n + j])
                #expect(e <= absSum / 256 + 1e-5)
                rms += ref[i * n + j] * ref[i * n + j]; errRMS += e * e
            }
        }
        let relative = (errRMS / rms).squareRoot()
        print("bf16 GEMM relative RMS error vs fp32 inputs: \(relative)")
        #expect(relative < 8e-3 && relative > 1e-4)   // really rounded, and no worse than bf16 should be
    }

    /// Any block of rows or columns computed alone gives the same bits as in the whole product (what makes
    /// the layers' results independent of the thread count).
    @Test func bitsIndependentOfSplit() {
        let (m, n, k) = (45, 77, 300)
        let a = randomTensor([m * k], seed: 51).data, b = randomTensor([k * n], seed: 52).data
        let whole = Self.run(false, true, m, n, k, a, b, alpha: 1, beta: 0, c: [Float](repeating: 0, count: m * n))
        // rows 13..<30
        let rows = Array(a[13 * k ..< 30 * k])
        let part = Self.run(false, true, 17, n, k, rows, b, alpha: 1, beta: 0, c: [Float](repeating: 0, count: 17 * n))
        #expect(part == Array(whole[13 * n ..< 30 * n]))
        // columns 5..<40 (rows of the transposed B)
        let cols = Array(b[5 * k ..< 40 * k])
        let partC = Self.run(false, true, m, 35, k, a, cols, alpha: 1, beta: 0, c: [Float](repeating: 0, count: m * 35))
        for i in 0..<m { #expect(Array(partC[i * 35 ..< (i + 1) * 35]) == Array(whole[i * n + 5 ..< i * n + 40])) }
    }

    /// Every conv lowering in bf16 against the same lowering in fp32, forward, dX and dW on UNet shapes
    /// (relative to the output's largest value; measured 2.9e-3 for taps / im2col, 5.5e-3 for F(2x2)). F(4x4)
    /// keeps fp32 GEMMs (7e-2 in bf16, `winogradGemm`), so bf16 mode leaves it bit-identical to fp32.
    @Test(arguments: [ConvAlgorithm.im2col, .taps, .winograd2])
    func convolutionAgainstFP32(algorithm: ConvAlgorithm) {
        var worst = 0.0
        for (k, (s, cin, cout)) in [(28, 32, 32), (14, 64, 64), (7, 64, 32)].enumerated() {
            let seed = UInt64(300 + 10 * k)
            let x = randomTensor([2, cin, s, s], seed: seed)
            let w = randomTensor([cout, cin, 3, 3], seed: seed + 1, scale: 1 / Float(9 * cin).squareRoot())
            let dy = randomTensor([2, cout, s, s], seed: seed + 2)
            func pass() -> [[Float]] {
                let y = conv2dForward(x, w, nil, stride: 1, pad: 1, algorithm: algorithm)
                let g = conv2dBackward(x, w, dy, stride: 1, pad: 1, needInput: true, needWeight: true, needBias: false,
                                       algorithm: algorithm)
                return [y.data, g.input!.data, g.weight!.data]
            }
            let ref = pass()
            let got = ComputePrecision.with(.bf16) { pass() }
            for (r, g) in zip(ref, got) {
                let scale = r.map { abs(Double($0)) }.max()!
                let e = zip(r, g).map { abs(Double($0) - Double($1)) }.max()!
                #expect(e > 0)   // bf16 really ran
                worst = max(worst, e / scale)
            }
        }
        print("bf16 conv \(algorithm) worst relative error vs fp32: \(worst)")
        #expect(worst < 1.2e-2)
    }

    @Test func winograd4StaysFP32() {
        let x = randomTensor([2, 32, 28, 28], seed: 81), w = randomTensor([32, 32, 3, 3], seed: 82, scale: 0.06)
        let dy = randomTensor([2, 32, 28, 28], seed: 83)
        func pass() -> [[Float]] {
            let y = conv2dForward(x, w, nil, stride: 1, pad: 1, algorithm: .winograd4)
            let g = conv2dBackward(x, w, dy, stride: 1, pad: 1, needInput: true, needWeight: true, needBias: false,
                                   algorithm: .winograd4)
            return [y.data, g.input!.data, g.weight!.data]
        }
        #expect(pass() == ComputePrecision.with(.bf16) { pass() })
    }

    /// Gradients in bf16 mode against central finite differences. The bf16 function is piecewise constant at the
    /// scale of its rounding (2^-9 relative), so differences of it measure rounding jumps, not slopes: the
    /// numeric side is the fp32 function (step 1e-2), and the tolerance is bf16's: measured 3.6e-2 worst (the
    /// fp32 gradients 2e-4 on the same probes; weight gradients sum hundreds of products whose 2^-8 rounding
    /// does not cancel), bound 6e-2. Shapes big enough that every GEMM (conv
    /// taps forward, dX, dW; linear forward, dX, dW) takes the bf16 kernel (`gemm`'s 8 x 16 x 16 minimum).
    @Test func finiteDifferenceGradients() {
        let x = randomTensor([2, 16, 6, 6], seed: 61), w = randomTensor([16, 16, 3, 3], seed: 62, scale: 0.1)
        let b = randomTensor([16], seed: 63)
        let lw = randomTensor([16, 36], seed: 64, scale: 0.2)
        func f(_ v: [Var]) -> Var {
            let c = TensorCore.conv2d(v[0], weight: v[1], bias: v[2], stride: 1, padding: 1)
            return linear(reshape(c, [32, 36]), weight: v[3], bias: nil)
        }
        let (worst, differs) = gradCheckMixed([x, w, b, lw], probes: 40, f)
        print("bf16 gradients vs fp32 finite differences: worst relative error \(worst)")
        #expect(worst < 6e-2)
        #expect(differs)   // the bf16 kernel really ran on the backward pass
    }

    /// `gradCheck` with the analytic gradient taken in bf16 and the finite differences in fp32; also whether the
    /// bf16 gradients differ from the fp32 ones at all.
    func gradCheckMixed(_ inputs: [Tensor], probes: Int, _ f: ([Var]) -> Var) -> (Float, Bool) {
        let h: Float = 1e-2
        func analytic() -> (Tensor, [Tensor]) {
            let tape = Tape()
            let vars = inputs.map { tape.variable($0) }
            let out = f(vars)
            var g = SplitMix64(seed: 5)
            let r = Tensor(shape: out.shape, data: g.normals(out.value.count))
            let grads = tape.backward(out, seed: r)
            return (r, vars.map { grads[$0] })
        }
        let (r, grads) = ComputePrecision.with(.bf16) { analytic() }
        let fp32Grads = analytic().1
        func loss(_ xs: [Tensor]) -> Double {
            let t = Tape(recordsPullbacks: false)
            return (f(xs.map { t.constant($0) }).value * r).sum()
        }
        var rng = SplitMix64(seed: 6)
        var worst: Float = 0, worstFP32: Float = 0
        for (k, x) in inputs.enumerated() {
            for _ in 0..<probes {
                let i = rng.below(x.count)
                var plus = inputs, minus = inputs
                plus[k].data[i] += h; minus[k].data[i] -= h
                let numeric = Float((loss(plus) - loss(minus)) / Double(2 * h))
                let (a, a32) = (grads[k].data[i], fp32Grads[k].data[i])
                worst = max(worst, abs(a - numeric) / max(1, abs(a), abs(numeric)))
                worstFP32 = max(worstFP32, abs(a32 - numeric) / max(1, abs(a32), abs(numeric)))
            }
        }
        print("finite differences: worst relative error of the fp32 gradients \(worstFP32), of the bf16 ones \(worst)")
        return (worst, zip(grads, fp32Grads).allSatisfy { $0.data != $1.data })
    }

    /// The whole conv forward and backward in bf16 gives the same bits at 1, 2 and 3 threads.
    @Test(arguments: [ConvAlgorithm.taps, .winograd2, .winograd4, .im2col])
    func sameBitsAtAnyThreadCount(algorithm: ConvAlgorithm) {
        let saved = ComputeThreads.count
        defer { ComputeThreads.set(saved) }
        let x = randomTensor([19, 16, 14, 14], seed: 71), w = randomTensor([8, 16, 3, 3], seed: 72, scale: 0.2)
        let b = randomTensor([8], seed: 73), dy = randomTensor([19, 8, 14, 14], seed: 74)
        var results: [[[Float]]] = []
        ComputePrecision.with(.bf16) {
            for t in [1, 2, 3] {
                ComputeThreads.set(t)
                let y = conv2dForward(x, w, b, stride: 1, pad: 1, algorithm: algorithm)
                let g = conv2dBackward(x, w, dy, stride: 1, pad: 1, needInput: true, needWeight: true, needBias: true,
                                       algorithm: algorithm)
                results.append([y.data, g.input!.data, g.weight!.data, g.bias!.data])
            }
        }
        #expect(results[0] == results[1] && results[0] == results[2])
    }
}
