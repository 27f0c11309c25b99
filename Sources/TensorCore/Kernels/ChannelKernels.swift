// Per-channel kernels for NCHW ([n, c, h, w]) and row-major [n, c] tensors (h = w = 1).

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
                for i in 0..<n { for j in 0..<c {
                    let base = (i * c + j) * hw, v = b[j]
                    for t in 0..<hw { d[base + t] += v }
                } }
            }
        }
    }

    /// self[n, c, ...] += e[n, c] (a per-sample, per-channel shift, e.g. a time embedding).
    public mutating func addSampleChannelInPlace(_ e: Tensor) {
        let (n, c, hw) = channelLayout
        precondition(e.shape == [n, c], "addSampleChannel: \(e.shape) for \(shape)")
        e.data.withUnsafeBufferPointer { b in
            data.withUnsafeMutableBufferPointer { d in
                for i in 0..<(n * c) {
                    let v = b[i], base = i * hw
                    for t in 0..<hw { d[base + t] += v }
                }
            }
        }
    }

    /// Sums over everything but the channel axis: [c].
    public func channelSums() -> Tensor {
        let (n, c, hw) = channelLayout
        var out = [Double](repeating: 0, count: c)
        data.withUnsafeBufferPointer { d in
            for i in 0..<n { for j in 0..<c {
                let base = (i * c + j) * hw
                var s: Float = 0
                for t in 0..<hw { s += d[base + t] }
                out[j] += Double(s)
            } }
        }
        return Tensor(shape: [c], data: out.map { Float($0) })
    }

    /// Sums over the spatial axes: [n, c] (the adjoint of `addSampleChannelInPlace`).
    public func spatialSums() -> Tensor {
        let (n, c, hw) = channelLayout
        var out = [Float](repeating: 0, count: n * c)
        data.withUnsafeBufferPointer { d in
            for i in 0..<(n * c) {
                var s: Float = 0
                for t in 0..<hw { s += d[i * hw + t] }
                out[i] = s
            }
        }
        return Tensor(shape: [n, c], data: out)
    }
}
