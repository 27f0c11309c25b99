import TensorCore

/// Where sampling starts at the first sigma of the plan: the seeded noise itself (a normal sample),
/// given states (to resume a trajectory, e.g. the teacher's own state at a segment boundary), or the
/// interpolation of each sample's seeded noise with a given clean image (paper §4.1, Table 1:
/// PeRFlow's off-trajectory start).
///
/// Row i of `states` / `x0` belongs to sample i (seed i of the run). The noise eps_i is always
/// `Tensor.perSampleNoise` of sample i's seed, so an interpolated start of sample i depends only on
/// (seed_i, x0_i, sigma), never on the batch.
public enum SampleStart: Sendable {
    case noise
    /// [N, C, H, W]: the start states themselves.
    case states(Tensor)
    /// start_i = sigma * eps_i + (1 - sigma) * x0_i with x0 [N, C, H, W] (`FlowMatching.interpolate`).
    case interpolated(x0: Tensor, sigma: Float)

    /// The start states of samples `rows` (a group of the run) given their seeded noise `eps`
    /// [G, C, H, W], G >= rows.count; rows beyond the group's real samples are padded with copies
    /// of its last sample, as `SampleGeneration.generate` pads seeds.
    public func initialStates(noise eps: Tensor, rows: Range<Int>) -> Tensor {
        switch self {
        case .noise:
            return eps
        case .states(let s):
            return Self.paddedRows(s, rows, to: eps.shape[0])
        case .interpolated(let x0, let sigma):
            let x = Self.paddedRows(x0, rows, to: eps.shape[0])
            return FlowMatching.interpolate(x0: x, noise: eps, sigmas: [Float](repeating: sigma, count: eps.shape[0]))
        }
    }

    /// Rows `rows` of `t`, then copies of the last one up to `count` rows.
    static func paddedRows(_ t: Tensor, _ rows: Range<Int>, to count: Int) -> Tensor {
        precondition(!rows.isEmpty && rows.upperBound <= t.shape[0] && rows.count <= count,
                     "SampleStart: rows \(rows) of a tensor with \(t.shape[0]) rows into \(count)")
        let inner = t.count / t.shape[0]
        var data = Array(t.data[(rows.lowerBound * inner)..<(rows.upperBound * inner)])
        data.reserveCapacity(count * inner)
        let last = t.data[((rows.upperBound - 1) * inner)..<(rows.upperBound * inner)]
        for _ in rows.count..<count { data += last }
        return Tensor(shape: [count] + Array(t.shape.dropFirst()), data: data)
    }
}
