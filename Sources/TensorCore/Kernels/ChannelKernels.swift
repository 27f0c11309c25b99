// Per-channel kernels for NCHW ([n, c, h, w]) and row-major [n, c] tensors (h = w = 1).
// Work splits over samples; reductions over samples add per-sample sums in sample order, so results
// do not depend on the thread count.

extension Tensor {
    /// (n, c, spatial) of a rank-2 [n, c] or rank-4 [n, c, h, w] tensor.
    var channelLayout: (n: Int, c: Int, hw: Int) {
        precondition(rank == 2 || rank == 4, "expected [n, c] or [n, c, h, w], got \(shape)")
        return (shape[0], shape[1], rank == 4 ? shape[2] * shape[3] : 1)
    }

    /// self[n, c, ...] += bias[c].
    public mutating func addChannelBiasInPlace(_ bias: Tensor) {
        let (n, c, hw) = channelLayout
        precondition(bias.count == c, "addBias: bias \(bias.shape) for \(shape)")
        bias.data.withUnsafeBufferPointer { b in
            data.withUnsafeMutableBufferPointer { d in
                let (bb, db) = (UnsafeSendable(b.baseAddress!), UnsafeSendable(d.baseAddress!))
                parallelChunks(n) { _, range in
                    for i in range { for j in 0..<c {
                        let p = db.value + (i * c + j) * hw, v = bb.value[j]
                        for t in 0..<hw { p[t] += v }
                    } }
                }
            }
        }
    }

    /// self[n, c, ...] += e[n, c] (a per-sample, per-channel shift, e.g. a time embedding).
    public mutating func addSampleChannelInPlace(_ e: Tensor) {
        let (n, c, hw) = channelLayout
        precondition(e.shape == [n, c], "addSampleChannel: \(e.shape) for \(shape)")
        e.data.withUnsafeBufferPointer { b in
            data.withUnsafeMutableBufferPointer { d in
                let (bb, db) = (UnsafeSendable(b.baseAddress!), UnsafeSendable(d.baseAddress!))
                parallelChunks(n) { _, range in
                    for i in (range.lowerBound * c)..<(range.upperBound * c) {
                        let v = bb.value[i], p = db.value + i * hw
                        for t in 0..<hw { p[t] += v }
                    }
                }
            }
        }
    }

    /// Sums over everything but the channel axis: [c]. Each (sample, channel) row is summed on its own
    /// (`spatialSums`, in parallel), then the rows are added over the samples in sample order in Double:
    /// the result does not depend on the thread count (issue 22).
    public func channelSums() -> Tensor {
        let (n, c, _) = channelLayout
        let rows = spatialSums().data
        var acc = [Double](repeating: 0, count: c)
        for i in 0..<n { for j in 0..<c { acc[j] += Double(rows[i * c + j]) } }
        return Tensor(shape: [c], data: acc.map { Float($0) })
    }

    /// Sums over the spatial axes: [n, c] (the adjoint of `addSampleChannelInPlace`).
    public func spatialSums() -> Tensor {
        let (n, c, hw) = channelLayout
        let out = [Float].uninitialized(n * c) { o in
            data.withUnsafeBufferPointer { d in
                let (db, ob) = (UnsafeSendable(d.baseAddress!), UnsafeSendable(o))
                parallelChunks(n) { _, range in
                    for i in (range.lowerBound * c)..<(range.upperBound * c) {
                        let p = db.value + i * hw
                        ob.value[i] = rowSum(p, hw)
                    }
                }
            }
        }
        return Tensor(shape: [n, c], data: out)
    }
}

/// The sum of `count` floats in eight lanes (two vectors per step, the zero-padded tail in the first),
/// then across the lanes. A scalar `s += p[t]` loop cannot be vectorised (it fixes the order of the adds)
/// and ran at one add per FP-add latency: channelSums was ~2% of a training step.
@inline(never)
func rowSum(_ p: UnsafePointer<Float>, _ count: Int) -> Float {
    var s0 = F8(repeating: 0), s1 = F8(repeating: 0)
    var t = 0
    while t + 16 <= count { s0 += load8(p + t, 8); s1 += load8(p + t + 8, 8); t += 16 }
    while t < count { s0 += load8(p + t, min(8, count - t)); t += 8 }
    return (s0 + s1).sum()
}
