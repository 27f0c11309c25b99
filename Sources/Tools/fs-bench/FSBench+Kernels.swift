import ArgumentParser
import Foundation
import NN
import TensorCore
import ToolSupport
import Train

/// Timers of the numeric kernels: sgemm, the conv algorithms per UNet shape, GroupNorm+SiLU.
extension FSBench {
    func sgemmGflops(_ n: Int) -> Double {
        let a = [Float](repeating: 1, count: n * n), b = a
        var c = a
        // A single GEMM is split by rows over our threads (BLAS itself runs single-threaded).
        let s = median {
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                let (ab, bb, cb) = (UnsafeSendable(ap.baseAddress!), UnsafeSendable(bp.baseAddress!), UnsafeSendable(cp.baseAddress!))
                parallelChunks(n) { _, r in
                    gemm(m: r.count, n: n, k: n, a: ab.value + r.lowerBound * n, b: bb.value, c: cb.value + r.lowerBound * n)
                }
            }}}
        }
        return 2 * Double(n * n * n) / s / 1e9
    }

    /// GFLOP/s of one thread on the DiT reference workload's products (a 1568-row slab: an eighth of its 12544
    /// token rows), on `CGEMM` (the kernels the layers use) and on OpenBLAS's sgemm, the same operands.
    func ditGemmGflops() -> [String: [String: Double]] {
        // name: (transA, transB, m, n, k): x Wᵀ (qkv, fc1, fc2), g W (dx of fc1), gᵀ x (dW of fc1), attention's P V.
        let shapes: [(String, Bool, Bool, Int, Int, Int)] = [
            ("x_wt_qkv_1568x576x192", false, true, 1568, 576, 192), ("x_wt_fc1_1568x768x192", false, true, 1568, 768, 192),
            ("x_wt_fc2_1568x192x768", false, true, 1568, 192, 768), ("g_w_fc1_dx_1568x192x768", false, false, 1568, 192, 768),
            ("gt_x_fc1_dw_768x192x3136", true, false, 768, 192, 3136), ("p_v_196x64x196", false, false, 196, 64, 196)]
        var g = SplitMix64(seed: 5)
        var out: [String: [String: Double]] = [:]
        for (name, ta, tb, m, n, k) in shapes {
            let a = g.normals(m * k), b = g.normals(k * n)
            var c = [Float](repeating: 0, count: m * n)
            let flops = 2 * Double(m * n * k)
            var row: [String: Double] = [:]
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                let (lda, ldb) = (ta ? m : k, tb ? k : n)
                if FastGEMM.available {
                    row["cgemm"] = flops / median {
                        FastGEMM.multiply(transA: ta, transB: tb, m: m, n: n, k: k, a: ap.baseAddress!, b: bp.baseAddress!, c: cp.baseAddress!)
                    } / 1e9
                }
                row["openblas"] = flops / median {
                    sgemm(transA: ta, transB: tb, m: m, n: n, k: k, a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb, c: cp.baseAddress!)
                } / 1e9
            }}}
            out[name] = row
        }
        return out
    }

    func convTimings() -> (forward: Double, backward: Double) {
        var g = SplitMix64(seed: 1)
        let x = Tensor(shape: [batch, 32, Reference.side, Reference.side], data: g.normals(batch * 32 * Reference.side * Reference.side))
        let w = Tensor(shape: [32, 32, 3, 3], data: g.normals(32 * 288)), b = Tensor(zeros: [32])
        let y = conv2dForward(x, w, b, stride: 1, pad: 1)
        let f = median { _ = conv2dForward(x, w, b, stride: 1, pad: 1) }
        let bw = median { _ = conv2dBackward(x, w, y, stride: 1, pad: 1, needInput: true, needWeight: true, needBias: true) }
        return (f * 1000, bw * 1000)
    }

    /// Forward and backward (dX, dW, db) milliseconds of the 3x3 stride-1 convs of the reference UNet,
    /// im2col vs tap GEMMs vs Winograd F(2x2,3x3) and F(4x4,3x3) (`ConvGeometry.prefersTaps` and
    /// `preferredWinograd` are tuned from these).
    func convAlgorithmTimings() -> [String: [String: Double]] {
        let shapes = [(28, 1, 32), (28, 32, 1), (28, 32, 32), (28, 96, 32), (14, 32, 64), (14, 64, 64), (14, 128, 64), (7, 64, 64), (7, 128, 64)]
        var g = SplitMix64(seed: 3)
        var res: [String: [String: Double]] = [:]
        for (s, cin, cout) in shapes {
            let x = Tensor(shape: [batch, cin, s, s], data: g.normals(batch * cin * s * s))
            let w = Tensor(shape: [cout, cin, 3, 3], data: g.normals(cout * cin * 9)), b = Tensor(zeros: [cout])
            let y = conv2dForward(x, w, b, stride: 1, pad: 1)
            var r: [String: Double] = [:]
            for (name, a) in [("im2col", ConvAlgorithm.im2col), ("taps", .taps), ("winograd2", .winograd2), ("winograd4", .winograd4)] {
                r["\(name)_forward"] = 1000 * median { _ = conv2dForward(x, w, b, stride: 1, pad: 1, algorithm: a) }
                r["\(name)_backward"] = 1000 * median {
                    _ = conv2dBackward(x, w, y, stride: 1, pad: 1, needInput: true, needWeight: true, needBias: true, algorithm: a)
                }
            }
            res["\(s)x\(s) \(cin)->\(cout)"] = r
        }
        return res
    }

    /// Forward and backward milliseconds of SiLU(GroupNorm(x)) (8 groups) for the UNet's norm shapes, and the
    /// backward's nanoseconds per element.
    func normTimings() -> [String: [String: Double]] {
        let shapes = [(28, 32), (28, 96), (14, 32), (14, 64), (14, 128), (7, 64), (7, 128)]
        var g = SplitMix64(seed: 4)
        var res: [String: [String: Double]] = [:]
        for (s, c) in shapes {
            let x = Tensor(shape: [batch, c, s, s], data: g.normals(batch * c * s * s))
            let dy = Tensor(shape: x.shape, data: g.normals(x.count))
            let w = Tensor(shape: [c], data: g.normals(c)), b = Tensor(shape: [c], data: g.normals(c))
            let (_, saved) = groupNormForward(x, groups: 8, weight: w, bias: b, eps: 1e-5, silu: true)
            let f = median { _ = groupNormForward(x, groups: 8, weight: w, bias: b, eps: 1e-5, silu: true) }
            let bw = median { _ = groupNormBackward(x, dy, groups: 8, weight: w, bias: b, silu: true, saved: saved) }
            res["\(s)x\(s) \(c)"] = ["forward": f * 1000, "backward": bw * 1000, "backward_ns_per_element": bw * 1e9 / Double(x.count)]
        }
        return res
    }
}
