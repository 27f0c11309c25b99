// Per-channel kernels for NCHW ([n, c, h, w]) and row-major [n, c] tensors (h = w = 1).
// Work splits over samples; reductions over samples sum per-chunk partials in chunk order,
// so results are deterministic for a given thread count.

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

    /// Sums over everything but the channel axis: [c].
    public func channelSums() -> Tensor {
        let (n, c, hw) = channelLayout
        let chunks = parallelChunkCount(n)
        var partial = [Double](repeating: 0, count: chunks * c)
        data.withUnsafeBufferPointer { d in
            partial.withUnsafeMutableBufferPointer { pp in
                let (db, pb) = (UnsafeSendable(d.baseAddress!), UnsafeSendable(pp.baseAddress!))
                parallelChunks(n) { chunk, range in
                    for i in range { for j in 0..<c {
                        let p = db.value + (i * c + j) * hw
                        var s: Float = 0
                        for t in 0..<hw { s += p[t] }
                        pb.value[chunk * c + j] += Double(s)
                    } }
                }
            }
        }
        var out = [Float](repeating: 0, count: c)
        for j in 0..<c { var s = 0.0; for k in 0..<chunks { s += partial[k * c + j] }; out[j] = Float(s) }
        return Tensor(shape: [c], data: out)
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
                        var s: Float = 0
                        for t in 0..<hw { s += p[t] }
                        ob.value[i] = s
                    }
                }
            }
        }
        return Tensor(shape: [n, c], data: out)
    }
}
