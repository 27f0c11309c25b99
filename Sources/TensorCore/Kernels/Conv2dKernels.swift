// 2-D convolution on NCHW tensors as per-image im2col + sgemm (llm.c-style kernel pairs).
// Work is split over samples (`parallelChunks`), each thread with its own im2col buffer and
// a single-threaded BLAS: on this machine kind that beats a 2-thread BLAS on per-image GEMMs.

/// Shapes of one convolution: input [n, cin, h, w], weight [cout, cin, k, k], output [n, cout, ho, wo].
public struct ConvGeometry: Equatable, Sendable {
    public let n, cin, h, w, cout, k, stride, pad: Int
    public var ho: Int { (h + 2 * pad - k) / stride + 1 }
    public var wo: Int { (w + 2 * pad - k) / stride + 1 }
    /// Rows of the im2col matrix (cin * k * k) and its columns (ho * wo).
    var colRows: Int { cin * k * k }
    var colCols: Int { ho * wo }
    /// A 1x1, stride-1, unpadded conv needs no im2col: the image itself is the column matrix.
    var isPointwise: Bool { k == 1 && stride == 1 && pad == 0 }

    public init(input: [Int], weight: [Int], stride: Int, pad: Int) {
        precondition(input.count == 4 && weight.count == 4 && input[1] == weight[1] && weight[2] == weight[3],
                     "conv2d: input \(input) and weight \(weight) do not fit")
        (n, cin, h, w) = (input[0], input[1], input[2], input[3])
        (cout, k) = (weight[0], weight[2])
        (self.stride, self.pad) = (stride, pad)
        precondition(ho > 0 && wo > 0, "conv2d: output would be empty for input \(input)")
    }
}

/// cols[(c*k + i)*k + j, oh*wo + ow] = x[c, oh*s - p + i, ow*s - p + j] (0 outside the image).
func im2col(_ x: UnsafePointer<Float>, _ g: ConvGeometry, _ cols: UnsafeMutablePointer<Float>) {
    let (ho, wo, s, p, k) = (g.ho, g.wo, g.stride, g.pad, g.k)
    for c in 0..<g.cin {
        let xc = x + c * g.h * g.w
        for i in 0..<k {
            for j in 0..<k {
                let row = cols + ((c * k + i) * k + j) * ho * wo
                for oh in 0..<ho {
                    let ih = oh * s - p + i
                    let dst = row + oh * wo
                    if ih < 0 || ih >= g.h {
                        dst.update(repeating: 0, count: wo); continue
                    }
                    let src = xc + ih * g.w
                    if s == 1 {
                        // Contiguous run: iw = ow - p + j, valid for ow in [lo, hi).
                        let lo = max(0, p - j), hi = min(wo, g.w + p - j)
                        if lo > 0 { dst.update(repeating: 0, count: lo) }
                        if hi > lo { (dst + lo).update(from: src + (lo - p + j), count: hi - lo) }
                        if hi < wo { (dst + max(hi, lo)).update(repeating: 0, count: wo - max(hi, lo)) }
                    } else {
                        for ow in 0..<wo {
                            let iw = ow * s - p + j
                            dst[ow] = (iw >= 0 && iw < g.w) ? src[iw] : 0
                        }
                    }
                }
            }
        }
    }
}

/// The adjoint of `im2col`: dx[c, ih, iw] += cols[...] for every column that read it.
func col2imAdd(_ cols: UnsafePointer<Float>, _ g: ConvGeometry, _ dx: UnsafeMutablePointer<Float>) {
    let (ho, wo, s, p, k) = (g.ho, g.wo, g.stride, g.pad, g.k)
    for c in 0..<g.cin {
        let dxc = dx + c * g.h * g.w
        for i in 0..<k {
            for j in 0..<k {
                let row = cols + ((c * k + i) * k + j) * ho * wo
                for oh in 0..<ho {
                    let ih = oh * s - p + i
                    if ih < 0 || ih >= g.h { continue }
                    let src = row + oh * wo, dst = dxc + ih * g.w
                    if s == 1 {
                        let lo = max(0, p - j), hi = min(wo, g.w + p - j)
                        if hi > lo {
                            let d = dst + (lo - p + j), sr = src + lo
                            for t in 0..<(hi - lo) { d[t] += sr[t] }
                        }
                    } else {
                        for ow in 0..<wo {
                            let iw = ow * s - p + j
                            if iw >= 0 && iw < g.w { dst[iw] += src[ow] }
                        }
                    }
                }
            }
        }
    }
}

/// out = conv(x, weight) + bias.
public func conv2dForward(_ x: Tensor, _ weight: Tensor, _ bias: Tensor?, stride: Int, pad: Int) -> Tensor {
    let g = ConvGeometry(input: x.shape, weight: weight.shape, stride: stride, pad: pad)
    let inStride = g.cin * g.h * g.w, outStride = g.cout * g.colCols
    // sgemm with beta = 0 writes every output element, so no zero fill is needed.
    let out = [Float].uninitialized(g.n * g.cout * g.colCols) { op in
    x.data.withUnsafeBufferPointer { xp in
    weight.data.withUnsafeBufferPointer { wp in
        let (xb, wb, ob) = (UnsafeSendable(xp.baseAddress!), UnsafeSendable(wp.baseAddress!), UnsafeSendable(op))
        parallelChunks(g.n) { _, range in
            let cols = UnsafeMutablePointer<Float>.allocate(capacity: g.isPointwise ? 1 : g.colRows * g.colCols)
            defer { cols.deallocate() }
            for img in range {
                let xi = xb.value + img * inStride
                let b: UnsafePointer<Float>
                if g.isPointwise { b = xi } else { im2col(xi, g, cols); b = UnsafePointer(cols) }
                sgemm(m: g.cout, n: g.colCols, k: g.colRows, a: wb.value, b: b, c: ob.value + img * outStride)
            }
        }
    }}}
    var result = Tensor(shape: [g.n, g.cout, g.ho, g.wo], data: out)
    if let bias { result.addChannelBiasInPlace(bias) }
    return result
}

/// Gradients of conv2d with respect to input, weight and bias (each only when asked for).
public func conv2dBackward(_ x: Tensor, _ weight: Tensor, _ gOut: Tensor, stride: Int, pad: Int,
                           needInput: Bool, needWeight: Bool, needBias: Bool)
    -> (input: Tensor?, weight: Tensor?, bias: Tensor?) {
    let g = ConvGeometry(input: x.shape, weight: weight.shape, stride: stride, pad: pad)
    let inStride = g.cin * g.h * g.w, outStride = g.cout * g.colCols, wCount = weight.count
    let chunks = parallelChunkCount(g.n)
    var dx = needInput ? [Float](repeating: 0, count: x.count) : []
    var dwPartial = needWeight ? [Float](repeating: 0, count: chunks * wCount) : []
    x.data.withUnsafeBufferPointer { xp in
    weight.data.withUnsafeBufferPointer { wp in
    gOut.data.withUnsafeBufferPointer { gp in
    dx.withUnsafeMutableBufferPointer { dxp in
    dwPartial.withUnsafeMutableBufferPointer { dwp in
        let xb = UnsafeSendable(xp.baseAddress!), wb = UnsafeSendable(wp.baseAddress!)
        let gb = UnsafeSendable(gp.baseAddress!), dxb = UnsafeSendable(dxp.baseAddress)
        let dwb = UnsafeSendable(dwp.baseAddress)
        parallelChunks(g.n) { chunk, range in
            let cols = UnsafeMutablePointer<Float>.allocate(capacity: g.colRows * g.colCols)
            defer { cols.deallocate() }
            for img in range {
                let xi = xb.value + img * inStride, gi = gb.value + img * outStride
                if needWeight {
                    // dW += dY[img] · cols^T   ([cout, hw] x [hw, cin*k*k])
                    let b: UnsafePointer<Float>
                    if g.isPointwise { b = xi } else { im2col(xi, g, cols); b = UnsafePointer(cols) }
                    sgemm(transB: true, m: g.cout, n: g.colRows, k: g.colCols, a: gi, b: b,
                          beta: 1, c: dwb.value! + chunk * wCount)
                }
                if needInput {
                    // dcols = W^T · dY[img], then scattered back onto the image.
                    let dxi = dxb.value! + img * inStride
                    if g.isPointwise {
                        sgemm(transA: true, m: g.colRows, n: g.colCols, k: g.cout, a: wb.value, b: gi, c: dxi)
                    } else {
                        sgemm(transA: true, m: g.colRows, n: g.colCols, k: g.cout, a: wb.value, b: gi, c: cols)
                        col2imAdd(cols, g, dxi)
                    }
                }
            }
        }
    }}}}}
    var dw: Tensor? = nil
    if needWeight {
        var total = [Float](repeating: 0, count: wCount)
        for c in 0..<chunks { for i in 0..<wCount { total[i] += dwPartial[c * wCount + i] } }
        dw = Tensor(shape: weight.shape, data: total)
    }
    return (needInput ? Tensor(shape: x.shape, data: dx) : nil, dw,
            needBias ? gOut.channelSums() : nil)
}
