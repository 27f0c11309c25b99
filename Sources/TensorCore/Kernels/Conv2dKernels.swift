// 2-D convolution on NCHW tensors as im2col + sgemm, one image per GEMM. Work is split over samples
// (`parallelChunks`), each thread with its own buffers and a single-threaded BLAS. (Several images
// per GEMM, N = images * ho * wo, measured ~15 % more CPU on the UNet workload: the larger column
// matrix leaves the cache.) 3x3 stride-1 convs mostly take the tap path instead (Conv2dTaps.swift).

/// Shapes of one convolution: input [n, cin, h, w], weight [cout, cin, k, k], output [n, cout, ho, wo].
public struct ConvGeometry: Equatable, Sendable {
    public let n, cin, h, w, cout, k, stride, pad: Int
    public var ho: Int { (h + 2 * pad - k) / stride + 1 }
    public var wo: Int { (w + 2 * pad - k) / stride + 1 }
    /// Rows of the im2col matrix (cin * k * k) and its columns per image (ho * wo).
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

/// The column matrix of the image at `x`: built in `cols` (rows `colCols` floats apart), or the
/// image itself for a pointwise conv.
@inline(__always)
func columns(_ x: UnsafePointer<Float>, _ g: ConvGeometry, _ cols: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
    if g.isPointwise { return x }
    im2col(x, g, cols, ld: g.colCols)
    return UnsafePointer(cols)
}

/// out = conv(x, weight) + bias, plus `sampleBias[n, cout]` (a per-sample, per-channel shift such
/// as a time embedding) when given. The sum is rounded as (conv + bias) + sampleBias, exactly as a
/// separate `addSampleChannel` after the conv would, but in the conv's own output pass. With
/// `residual` (the output's shape) the result is residual + that, rounded as a separate `+` would.
/// `keepPackedWeights`: take the weights' kernel layout from `PackedWeights` (same bits; inference).
public func conv2dForward(_ x: Tensor, _ weight: Tensor, _ bias: Tensor?, stride: Int, pad: Int,
                          sampleBias: Tensor? = nil, residual: Tensor? = nil,
                          algorithm: ConvAlgorithm = .automatic, keepPackedWeights: Bool = false) -> Tensor {
    let g = ConvGeometry(input: x.shape, weight: weight.shape, stride: stride, pad: pad)
    let (hw, kk, cout) = (g.colCols, g.colRows, g.cout)
    let inStride = g.cin * g.h * g.w, outStride = cout * hw
    let biasData = bias?.data ?? [Float](repeating: 0, count: cout)
    precondition(biasData.count == cout, "conv2d: bias \(bias?.shape ?? []) for \(cout) channels")
    if let sampleBias {
        precondition(sampleBias.shape == [g.n, cout], "conv2d: sample bias \(sampleBias.shape) for \([g.n, cout])")
    }
    let sampleData = sampleBias?.data ?? []
    if let residual {
        precondition(residual.shape == [g.n, cout, g.ho, g.wo], "conv2d: residual \(residual.shape) for \([g.n, cout, g.ho, g.wo])")
    }
    let residualData = residual?.data ?? []
    // Every output element is written below (GEMM with beta 0, then the bias pass), so no zero fill.
    let out = [Float].uninitialized(g.n * outStride) { op in
    x.data.withUnsafeBufferPointer { xp in
    weight.data.withUnsafeBufferPointer { wp in
    biasData.withUnsafeBufferPointer { bp in
    sampleData.withUnsafeBufferPointer { sp in
    residualData.withUnsafeBufferPointer { rp in
        let (xb, wb, ob, bb) = (UnsafeSendable(xp.baseAddress!), UnsafeSendable(wp.baseAddress!),
                                UnsafeSendable(op), UnsafeSendable(bp.baseAddress!))
        let sb = UnsafeSendable(sampleBias == nil ? nil : sp.baseAddress)
        let rb = UnsafeSendable(residual == nil ? nil : rp.baseAddress)
        if let m = g.winogradTile(algorithm, backward: false) {
            conv2dWinogradForward(x, weight, bias: bb.value, sampleBias: sb.value.map { UnsafePointer($0) },
                                  residual: rb.value.map { UnsafePointer($0) }, g, m: m, out: ob.value,
                                  keepPackedWeights: keepPackedWeights)
            return
        }
        if g.usesTaps(algorithm) {
            let wt = keepPackedWeights ? PackedWeights.packed(weight, .taps(transposed: false)) { tapWeights($0, g) }
                                       : tapWeights(weight.data, g)
            wt.withUnsafeBufferPointer { tp in
                let tb = UnsafeSendable(tp.baseAddress!)
                parallelChunks(g.n) { _, range in
                    conv2dTapsForward(xb.value, tb.value, bb.value, sb.value.map { UnsafePointer($0) },
                                      rb.value.map { UnsafePointer($0) }, g, ob.value, range)
                }
            }
            return
        }
        parallelChunks(g.n) { _, range in
            let cols = UnsafeMutablePointer<Float>.allocate(capacity: g.isPointwise ? 1 : kk * hw)
            defer { cols.deallocate() }
            for img in range {
                let src = columns(xb.value + img * inStride, g, cols)
                let dst = ob.value + img * outStride
                gemm(m: cout, n: hw, k: kk, a: wb.value, b: src, c: dst)
                for co in 0..<cout {
                    let o = dst + co * hw, v = bb.value[co]
                    if let sbp = sb.value {
                        let e = sbp[img * cout + co]
                        for t in 0..<hw { o[t] = (o[t] + v) + e }
                    } else {
                        for t in 0..<hw { o[t] += v }
                    }
                    if let res = rb.value {
                        let q = res + img * outStride + co * hw
                        for t in 0..<hw { o[t] = q[t] + o[t] }
                    }
                }
            }
        }
    }}}}}}
    return Tensor(shape: [g.n, cout, g.ho, g.wo], data: out)
}

/// Gradients of conv2d with respect to input, weight and bias (each only when asked for).
public func conv2dBackward(_ x: Tensor, _ weight: Tensor, _ gOut: Tensor, stride: Int, pad: Int,
                           needInput: Bool, needWeight: Bool, needBias: Bool, algorithm: ConvAlgorithm = .automatic)
    -> (input: Tensor?, weight: Tensor?, bias: Tensor?) {
    let g = ConvGeometry(input: x.shape, weight: weight.shape, stride: stride, pad: pad)
    let (hw, kk, cout) = (g.colCols, g.colRows, g.cout)
    let inStride = g.cin * g.h * g.w, outStride = cout * hw, wCount = weight.count
    if let m = g.winogradTile(algorithm, backward: true) {
        return conv2dWinogradBackward(x, weight, gOut, g, m: m, needInput: needInput, needWeight: needWeight, needBias: needBias)
    }
    if g.usesTaps(algorithm) {
        return conv2dTapsBackward(x, weight, gOut, g, needInput: needInput, needWeight: needWeight, needBias: needBias)
    }
    let chunks = ReductionChunks.count(g.n)
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
        // Fixed chunks of samples, one dW partial each (summed in chunk order below): the bits of dW
        // do not depend on the thread count.
        parallelReductionChunks(g.n) { chunk, range in
            let cols = UnsafeMutablePointer<Float>.allocate(capacity: kk * hw)
            defer { cols.deallocate() }
            for img in range {
                let dy = gb.value + img * outStride
                if needWeight {
                    // dW += dY · colsᵀ   ([cout, hw] x [hw, cin*k*k])
                    let src = columns(xb.value + img * inStride, g, cols)
                    gemm(transB: true, m: cout, n: kk, k: hw, a: dy, b: src, beta: 1, c: dwb.value! + chunk * wCount)
                }
                if needInput {
                    // dcols = Wᵀ · dY, then scattered back onto the image.
                    gemm(transA: true, m: kk, n: hw, k: cout, a: wb.value, b: dy, c: cols)
                    col2imAdd(cols, g, dxb.value! + img * inStride, ld: hw)
                }
            }
        }
    }}}}}
    var dw: Tensor? = nil
    if needWeight {
        let total = [Float].uninitialized(wCount) { out in
            dwPartial.withUnsafeBufferPointer { sumPartials($0.baseAddress!, chunks: chunks, stride: wCount, into: out) }
        }
        dw = Tensor(shape: weight.shape, data: total)
    }
    return (needInput ? Tensor(shape: x.shape, data: dx) : nil, dw,
            needBias ? gOut.channelSums() : nil)
}

/// A 1x1 conv (stride 1, no padding) of the channel concatenation of `parts` (each [n, c_i, h, w]), read in place:
/// each image's channels are gathered into the column buffer its GEMM reads (in cache) instead of a concatenated
/// tensor being written and read back. The same GEMM on the same values as `conv2dForward` of the concatenation.
public func conv2dPointwiseForward(parts: [Tensor], _ weight: Tensor, _ bias: Tensor?) -> Tensor {
    let (n, cin, hw) = concatenatedLayout(parts, "conv2d")
    let g = ConvGeometry(input: [n, cin] + parts[0].shape[2...], weight: weight.shape, stride: 1, pad: 0)
    precondition(g.isPointwise, "conv2d: reading channel parts in place needs a 1x1 kernel, stride 1, no padding")
    let cout = g.cout
    let biasData = bias?.data ?? [Float](repeating: 0, count: cout)
    precondition(biasData.count == cout, "conv2d: bias \(bias?.shape ?? []) for \(cout) channels")
    let out = [Float].uninitialized(n * cout * hw) { op in
    withChannelPlanes(parts) { x in
    weight.data.withUnsafeBufferPointer { wp in
    biasData.withUnsafeBufferPointer { bp in
        let (wb, ob, bb) = (UnsafeSendable(wp.baseAddress!), UnsafeSendable(op), UnsafeSendable(bp.baseAddress!))
        parallelChunks(n) { _, range in
            let cols = UnsafeMutablePointer<Float>.allocate(capacity: cin * hw)
            defer { cols.deallocate() }
            for img in range {
                gatherChannels(x, img, cin, into: cols)
                let dst = ob.value + img * cout * hw
                gemm(m: cout, n: hw, k: cin, a: wb.value, b: cols, c: dst)
                for co in 0..<cout {
                    let o = dst + co * hw, v = bb.value[co]
                    for t in 0..<hw { o[t] += v }
                }
            }
        }
    }}}}
    return Tensor(shape: [n, cout] + parts[0].shape[2...], data: out)
}

/// The `cin` channel planes of image `img` copied into one [cin, hw] block.
@inline(__always)
func gatherChannels(_ x: ChannelPlanes, _ img: Int, _ cin: Int, into cols: UnsafeMutablePointer<Float>) {
    var c = 0
    for (i, k) in x.channels.enumerated() {
        (cols + c * x.hw).update(from: x.bases[i] + img * k * x.hw, count: k * x.hw)
        c += k
    }
}

/// Gradients of `conv2dPointwiseForward(parts:)`: one input gradient per part (written there, no slicing of a
/// concatenated gradient), weight and bias; the same GEMMs, reduction chunks and additions as `conv2dBackward`.
public func conv2dPointwiseBackward(parts: [Tensor], _ weight: Tensor, _ gOut: Tensor, needInput: Bool, needWeight: Bool,
                                    needBias: Bool) -> (inputs: [Tensor]?, weight: Tensor?, bias: Tensor?) {
    let (n, cin, hw) = concatenatedLayout(parts, "conv2d")
    let cout = weight.shape[0], wCount = weight.count, outStride = cout * hw
    let chunks = ReductionChunks.count(n)
    var dx = needInput ? parts.map { [Float](repeating: 0, count: $0.count) } : []
    var dwPartial = needWeight ? [Float](repeating: 0, count: chunks * wCount) : []
    withChannelPlanes(parts) { x in
    withMutableChannelPlanes(&dx, channels: parts.map { $0.shape[1] }, hw: hw) { dxp in
    weight.data.withUnsafeBufferPointer { wp in
    gOut.data.withUnsafeBufferPointer { gp in
    dwPartial.withUnsafeMutableBufferPointer { dwp in
        let wb = UnsafeSendable(wp.baseAddress!), gb = UnsafeSendable(gp.baseAddress!), dwb = UnsafeSendable(dwp.baseAddress)
        parallelReductionChunks(n) { chunk, range in
            let cols = UnsafeMutablePointer<Float>.allocate(capacity: cin * hw)
            defer { cols.deallocate() }
            for img in range {
                let dy = gb.value + img * outStride
                if needWeight {
                    gatherChannels(x, img, cin, into: cols)
                    gemm(transB: true, m: cout, n: cin, k: hw, a: dy, b: cols, beta: 1, c: dwb.value! + chunk * wCount)
                }
                if needInput {
                    gemm(transA: true, m: cin, n: hw, k: cout, a: wb.value, b: dy, c: cols)
                    // col2imAdd of a 1x1 conv: dx += cols, plane by plane into the parts
                    for c in 0..<cin {
                        let d = dxp!.plane(img, c), s = cols + c * hw
                        for t in 0..<hw { d[t] += s[t] }
                    }
                }
            }
        }
    }}}}}
    var dw: Tensor? = nil
    if needWeight {
        let total = [Float].uninitialized(wCount) { out in
            dwPartial.withUnsafeBufferPointer { sumPartials($0.baseAddress!, chunks: chunks, stride: wCount, into: out) }
        }
        dw = Tensor(shape: weight.shape, data: total)
    }
    return (needInput ? zip(parts, dx).map { Tensor(shape: $0.shape, data: $1) } : nil, dw,
            needBias ? gOut.channelSums() : nil)
}
