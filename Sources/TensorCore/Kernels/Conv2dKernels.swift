// 2-D convolution on NCHW tensors as im2col + sgemm. Work is split over samples
// (`parallelChunks`), each thread with its own buffers and a single-threaded BLAS. Within a
// thread, several images can share one GEMM (N = images * ho * wo), but measured on the UNet
// workload that cost ~15 % more CPU than per-image GEMMs (the larger column matrix leaves the
// cache), so `targetColumns` = 1 keeps one image per GEMM; the machinery stays for retuning.

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

    /// Images per GEMM: enough columns to amortise BLAS overhead, few enough that the column
    /// matrix stays near cache size. Depends only on the shapes, so results stay deterministic.
    func imagesPerGemm(_ available: Int) -> Int {
        let byColumns = max(1, (targetColumns + colCols - 1) / colCols)
        let byBuffer = max(1, maxColumnFloats / max(1, colRows * colCols))
        return max(1, min(available, byColumns, byBuffer))
    }
}

/// Columns per GEMM we aim for (1: one image per GEMM, see the file comment), and a cap on the
/// column buffer (floats).
let targetColumns = 1
let maxColumnFloats = 1 << 20

/// The sub-batches of `range` that share one GEMM.
@inline(__always)
func gemmBatches(_ range: Range<Int>, _ per: Int, _ body: (_ start: Int, _ count: Int) -> Void) {
    var s = range.lowerBound
    while s < range.upperBound { let b = min(per, range.upperBound - s); body(s, b); s += b }
}

/// The column matrix of `b` images starting at `x` (images `inStride` floats apart): built in
/// `cols`, or the image itself for a single image of a pointwise conv.
@inline(__always)
func columns(_ x: UnsafePointer<Float>, _ inStride: Int, _ b: Int, _ g: ConvGeometry,
             _ cols: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
    if b == 1 && g.isPointwise { return x }
    let ld = b * g.colCols
    for i in 0..<b { im2col(x + i * inStride, g, cols + i * g.colCols, ld: ld) }
    return UnsafePointer(cols)
}

/// out = conv(x, weight) + bias, plus `sampleBias[n, cout]` (a per-sample, per-channel shift such
/// as a time embedding) when given. The sum is rounded as (conv + bias) + sampleBias, exactly as a
/// separate `addSampleChannel` after the conv would, but in the conv's own output pass.
public func conv2dForward(_ x: Tensor, _ weight: Tensor, _ bias: Tensor?, stride: Int, pad: Int,
                          sampleBias: Tensor? = nil, algorithm: ConvAlgorithm = .automatic) -> Tensor {
    let g = ConvGeometry(input: x.shape, weight: weight.shape, stride: stride, pad: pad)
    let (hw, kk, cout) = (g.colCols, g.colRows, g.cout)
    let inStride = g.cin * g.h * g.w, outStride = cout * hw
    let biasData = bias?.data ?? [Float](repeating: 0, count: cout)
    precondition(biasData.count == cout, "conv2d: bias \(bias?.shape ?? []) for \(cout) channels")
    if let sampleBias {
        precondition(sampleBias.shape == [g.n, cout], "conv2d: sample bias \(sampleBias.shape) for \([g.n, cout])")
    }
    let sampleData = sampleBias?.data ?? []
    // Every output element is written below (GEMM with beta 0, then the bias pass), so no zero fill.
    let out = [Float].uninitialized(g.n * outStride) { op in
    x.data.withUnsafeBufferPointer { xp in
    weight.data.withUnsafeBufferPointer { wp in
    biasData.withUnsafeBufferPointer { bp in
    sampleData.withUnsafeBufferPointer { sp in
        let (xb, wb, ob, bb) = (UnsafeSendable(xp.baseAddress!), UnsafeSendable(wp.baseAddress!),
                                UnsafeSendable(op), UnsafeSendable(bp.baseAddress!))
        let sb = UnsafeSendable(sampleBias == nil ? nil : sp.baseAddress)
        if g.usesTaps(algorithm) {
            let wt = tapWeights(weight.data, g)
            wt.withUnsafeBufferPointer { tp in
                let tb = UnsafeSendable(tp.baseAddress!)
                parallelChunks(g.n) { _, range in
                    conv2dTapsForward(xb.value, tb.value, bb.value, sb.value.map { UnsafePointer($0) }, g, ob.value, range)
                }
            }
            return
        }
        parallelChunks(g.n) { _, range in
            let per = g.imagesPerGemm(range.count)
            let cols = UnsafeMutablePointer<Float>.allocate(capacity: kk * per * hw)
            let tmp = UnsafeMutablePointer<Float>.allocate(capacity: per > 1 ? cout * per * hw : 1)
            defer { cols.deallocate(); tmp.deallocate() }
            gemmBatches(range, per) { start, b in
                let ld = b * hw
                let src = columns(xb.value + start * inStride, inStride, b, g, cols)
                let dst = ob.value + start * outStride
                // One image: GEMM straight into the output. Several: GEMM into [cout, b*hw], then
                // reorder to [b, cout, hw], adding the bias on the way.
                sgemm(m: cout, n: ld, k: kk, a: wb.value, b: src, c: b == 1 ? dst : tmp)
                for i in 0..<b {
                    for co in 0..<cout {
                        let o = dst + i * outStride + co * hw, v = bb.value[co]
                        if let sbp = sb.value {
                            let e = sbp[(start + i) * cout + co]
                            if b == 1 {
                                for t in 0..<hw { o[t] = (o[t] + v) + e }
                            } else {
                                let s = tmp + co * ld + i * hw
                                for t in 0..<hw { o[t] = (s[t] + v) + e }
                            }
                        } else if b == 1 {
                            for t in 0..<hw { o[t] += v }
                        } else {
                            let s = tmp + co * ld + i * hw
                            for t in 0..<hw { o[t] = s[t] + v }
                        }
                    }
                }
            }
        }
    }}}}}
    return Tensor(shape: [g.n, cout, g.ho, g.wo], data: out)
}

/// Gradients of conv2d with respect to input, weight and bias (each only when asked for).
public func conv2dBackward(_ x: Tensor, _ weight: Tensor, _ gOut: Tensor, stride: Int, pad: Int,
                           needInput: Bool, needWeight: Bool, needBias: Bool, algorithm: ConvAlgorithm = .automatic)
    -> (input: Tensor?, weight: Tensor?, bias: Tensor?) {
    let g = ConvGeometry(input: x.shape, weight: weight.shape, stride: stride, pad: pad)
    let (hw, kk, cout) = (g.colCols, g.colRows, g.cout)
    let inStride = g.cin * g.h * g.w, outStride = cout * hw, wCount = weight.count
    if g.usesTaps(algorithm) {
        return conv2dTapsBackward(x, weight, gOut, g, needInput: needInput, needWeight: needWeight, needBias: needBias)
    }
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
            let per = g.imagesPerGemm(range.count)
            let cols = UnsafeMutablePointer<Float>.allocate(capacity: kk * per * hw)
            let dyT = UnsafeMutablePointer<Float>.allocate(capacity: per > 1 ? cout * per * hw : 1)
            defer { cols.deallocate(); dyT.deallocate() }
            gemmBatches(range, per) { start, b in
                let ld = b * hw
                // dY of the sub-batch as [cout, b*hw] (the layout the forward GEMM produced).
                let dy: UnsafePointer<Float>
                if b == 1 {
                    dy = gb.value + start * outStride
                } else {
                    for i in 0..<b {
                        for co in 0..<cout {
                            (dyT + co * ld + i * hw).update(from: gb.value + (start + i) * outStride + co * hw, count: hw)
                        }
                    }
                    dy = UnsafePointer(dyT)
                }
                if needWeight {
                    // dW += dY · colsᵀ   ([cout, b*hw] x [b*hw, cin*k*k])
                    let src = columns(xb.value + start * inStride, inStride, b, g, cols)
                    sgemm(transB: true, m: cout, n: kk, k: ld, a: dy, b: src, beta: 1, c: dwb.value! + chunk * wCount)
                }
                if needInput {
                    // dcols = Wᵀ · dY, then scattered back onto each image.
                    sgemm(transA: true, m: kk, n: ld, k: cout, a: wb.value, b: dy, c: cols)
                    for i in 0..<b { col2imAdd(cols + i * hw, g, dxb.value! + (start + i) * inStride, ld: ld) }
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
