import Foundation
import Testing
import TensorCore
import TestSupport

/// GroupNorm+SiLU's apply pass and SiLU pullback in AVX-512 (CConv's cconv_norm_silu_row, cconv_silu_grad_row)
/// against the Swift rows: the same bits, forward and backward, on
/// row lengths around the 16- and 64-float steps and on values past exp's clamps; the Swift path is the
/// `FS_CONV_AVX512=off` one.
@Suite(.serialized) struct NormSiluKernelTests {
    @Test(.enabled(if: VectorConvKernels.available)) func sameBitsAsSwiftRow() {
        let saved = VectorConvKernels.enabled
        defer { VectorConvKernels.enabled = saved }
        for (k, (h, w)) in [(1, 1), (1, 7), (3, 5), (4, 4), (1, 17), (7, 7), (8, 8), (5, 13), (14, 14), (28, 28)].enumerated() {
            let seed = UInt64(700 + 10 * k), (n, c, groups) = (3, 8, 4)
            var x = randomTensor([n, c, h, w], seed: seed, scale: 3)
            // values that reach exp's clamps after the affine map, and signed zeros
            for (i, v) in [Float(400), -400, 0, -0.0, 1e-30, -1e-30].enumerated() where i < x.count { x.data[i * 7 % x.count] = v }
            let wt = randomTensor([c], seed: seed + 1, scale: 2), b = randomTensor([c], seed: seed + 2)
            let dy = randomTensor([n, c, h, w], seed: seed + 3)
            func run() -> [[Float]] {
                let (y, saved) = groupNormForward(x, groups: groups, weight: wt, bias: b, eps: 1e-5, silu: true)
                let g = groupNormBackward(x, dy, groups: groups, weight: wt, bias: b, silu: true, saved: saved)
                return [y.data, g.input.data, g.weight.data, g.bias.data]
            }
            VectorConvKernels.enabled = true
            let vr = run()
            VectorConvKernels.enabled = false
            let sr = run()
            for (i, name) in ["forward", "dX", "dWeight", "dBias"].enumerated() {
                let same = zip(vr[i], sr[i]).allSatisfy { $0.bitPattern == $1.bitPattern }
                #expect(same, "\(h)x\(w): \(name) differs between the AVX-512 and Swift rows")
            }
            let v = Tensor(shape: x.shape, data: vr[0])
            // and it is SiLU(GroupNorm(x)), not two equal wrong answers
            let plain = groupNormForward(x, groups: groups, weight: wt, bias: b, eps: 1e-5).0
            let worst = zip(v.data, plain.data).map { abs($0 - $1 / (1 + expf(-$1))) / max(1, abs($0)) }.max() ?? 0
            #expect(worst < 1e-5, "\(h)x\(w): \(worst) from SiLU(GroupNorm)")
        }
    }
}
