import TensorCore

/// Inference kernels the Inception network needs beyond TensorCore's square convolutions: rectangular
/// kernels (1x7, 7x1, 1x3, 3x1), pooling with PyTorch's padding rules, channel concatenation and
/// bilinear resizing as `F.interpolate(mode="bilinear", align_corners=False)`. All work per image, so
/// a result never depends on the thread count.
enum InceptionKernels {
    /// conv(x, weight [cout, cin, kh, kw]) + bias, then ReLU, as im2col + one GEMM per image.
    static func conv(_ x: Tensor, weight: Tensor, bias: [Float], stride: Int, padH: Int, padW: Int) -> Tensor {
        let (n, cin, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (cout, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3])
        precondition(weight.shape[1] == cin, "Inception conv: input \(x.shape) for weight \(weight.shape)")
        let ho = (h + 2 * padH - kh) / stride + 1, wo = (w + 2 * padW - kw) / stride + 1
        let hw = ho * wo, rows = cin * kh * kw
        let out = [Float].uninitialized(n * cout * hw) { op in
            x.data.withUnsafeBufferPointer { xp in
            weight.data.withUnsafeBufferPointer { wp in
            bias.withUnsafeBufferPointer { bp in
                let (xb, wb, ob, bb) = (UnsafeSendable(xp.baseAddress!), UnsafeSendable(wp.baseAddress!),
                                        UnsafeSendable(op), UnsafeSendable(bp.baseAddress!))
                parallelChunks(n) { _, range in
                    let cols = UnsafeMutablePointer<Float>.allocate(capacity: rows * hw)
                    defer { cols.deallocate() }
                    for img in range {
                        let src = xb.value + img * cin * h * w
                        for ci in 0..<cin {
                            for ky in 0..<kh {
                                for kx in 0..<kw {
                                    let row = cols + ((ci * kh + ky) * kw + kx) * hw
                                    for oy in 0..<ho {
                                        let iy = oy * stride - padH + ky
                                        let dst = row + oy * wo
                                        guard iy >= 0 && iy < h else {
                                            dst.update(repeating: 0, count: wo); continue
                                        }
                                        let line = src + (ci * h + iy) * w
                                        for ox in 0..<wo {
                                            let ix = ox * stride - padW + kx
                                            dst[ox] = ix >= 0 && ix < w ? line[ix] : 0
                                        }
                                    }
                                }
                            }
                        }
                        let dst = ob.value + img * cout * hw
                        sgemm(m: cout, n: hw, k: rows, a: wb.value, b: cols, c: dst)
                        for co in 0..<cout {
                            let o = dst + co * hw, v = bb.value[co]
                            for t in 0..<hw { o[t] = max(0, o[t] + v) }
                        }
                    }
                }
            }}}
        }
        return Tensor(shape: [n, cout, ho, wo], data: out)
    }

    /// Max over k x k windows; padding cells never win (PyTorch pads max pooling with -infinity).
    static func maxPool(_ x: Tensor, k: Int, stride: Int, pad: Int) -> Tensor {
        pool(x, k: k, stride: stride, pad: pad) { p, rows, cols, w in
            var m = -Float.infinity
            for r in rows { for c in cols { m = max(m, p[r * w + c]) } }
            return m
        }
    }

    /// Mean over k x k windows counting only cells inside the image (`count_include_pad=False`, as
    /// pytorch-fid's FID blocks use, following the TensorFlow graph the weights come from).
    static func avgPoolExcludingPad(_ x: Tensor, k: Int, stride: Int, pad: Int) -> Tensor {
        pool(x, k: k, stride: stride, pad: pad) { p, rows, cols, w in
            var s: Float = 0
            for r in rows { for c in cols { s += p[r * w + c] } }
            return s / Float(rows.count * cols.count)
        }
    }

    private static func pool(_ x: Tensor, k: Int, stride: Int, pad: Int,
                             _ reduce: (UnsafePointer<Float>, Range<Int>, Range<Int>, Int) -> Float) -> Tensor {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let ho = (h + 2 * pad - k) / stride + 1, wo = (w + 2 * pad - k) / stride + 1
        var out = [Float](repeating: 0, count: n * c * ho * wo)
        x.data.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBufferPointer { op in
                let (xb, ob) = (UnsafeSendable(xp.baseAddress!), UnsafeSendable(op.baseAddress!))
                parallelChunks(n * c) { _, range in
                    for plane in range {
                        let p = xb.value + plane * h * w, o = ob.value + plane * ho * wo
                        for oy in 0..<ho {
                            let r0 = oy * stride - pad
                            let rows = max(0, r0)..<min(h, r0 + k)
                            for ox in 0..<wo {
                                let c0 = ox * stride - pad
                                o[oy * wo + ox] = reduce(p, rows, max(0, c0)..<min(w, c0 + k), w)
                            }
                        }
                    }
                }
            }
        }
        return Tensor(shape: [n, c, ho, wo], data: out)
    }

    /// Tensors [n, ci, h, w] joined along the channel axis, in order (torch.cat(..., 1)).
    static func concatChannels(_ parts: [Tensor]) -> Tensor {
        let n = parts[0].shape[0], hw = parts[0].shape[2] * parts[0].shape[3]
        let channels = parts.reduce(0) { $0 + $1.shape[1] }
        var out = [Float]()
        out.reserveCapacity(n * channels * hw)
        for img in 0..<n {
            for p in parts {
                precondition(p.shape[0] == n && p.shape[2] * p.shape[3] == hw, "Inception concat: \(p.shape)")
                let size = p.shape[1] * hw
                out += p.data[(img * size)..<((img + 1) * size)]
            }
        }
        return Tensor(shape: [n, channels, parts[0].shape[2], parts[0].shape[3]], data: out)
    }

    /// Mean of every channel over its plane: [n, c, h, w] -> [n, c] (adaptive average pooling to 1x1).
    static func globalAveragePool(_ x: Tensor) -> Tensor {
        let (n, c) = (x.shape[0], x.shape[1]), hw = x.shape[2] * x.shape[3]
        var out = [Float](repeating: 0, count: n * c)
        x.data.withUnsafeBufferPointer { p in
            for i in 0..<(n * c) {
                var s: Float = 0
                for t in 0..<hw { s += p[i * hw + t] }
                out[i] = s / Float(hw)
            }
        }
        return Tensor(shape: [n, c], data: out)
    }

    /// Bilinear resize to `size` x `size` as PyTorch's `F.interpolate(mode="bilinear",
    /// align_corners=False, antialias=False)`: source = (dst + 0.5) * in/out - 0.5, clamped at 0, the
    /// scale in Float; no smoothing when shrinking. The same size is returned unchanged.
    static func resizeBilinear(_ x: Tensor, size: Int) -> Tensor {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        if h == size && w == size { return x }
        func taps(_ input: Int) -> [(i0: Int, i1: Int, l0: Float, l1: Float)] {
            let scale = Float(input) / Float(size)
            return (0..<size).map { d in
                let src = max(0, scale * (Float(d) + 0.5) - 0.5)
                let i0 = min(Int(src), input - 1)
                let l1 = min(max(src - Float(i0), 0), 1)
                return (i0, i0 < input - 1 ? i0 + 1 : i0, 1 - l1, l1)
            }
        }
        let ty = taps(h), tx = taps(w)
        var out = [Float](repeating: 0, count: n * c * size * size)
        x.data.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBufferPointer { op in
                let (xb, ob) = (UnsafeSendable(xp.baseAddress!), UnsafeSendable(op.baseAddress!))
                parallelChunks(n * c) { _, range in
                    for plane in range {
                        let p = xb.value + plane * h * w, o = ob.value + plane * size * size
                        for (oy, y) in ty.enumerated() {
                            let r0 = p + y.i0 * w, r1 = p + y.i1 * w
                            for (ox, t) in tx.enumerated() {
                                o[oy * size + ox] = y.l0 * (t.l0 * r0[t.i0] + t.l1 * r0[t.i1])
                                    + y.l1 * (t.l0 * r1[t.i0] + t.l1 * r1[t.i1])
                            }
                        }
                    }
                }
            }
        }
        return Tensor(shape: [n, c, size, size], data: out)
    }
}
