import NN
import TensorCore

/// A velocity network (any backbone) with fixed weights, evaluated without gradients, with
/// classifier-free guidance.
public struct VelocityModel: Sendable {
    public let network: any VelocityNetwork
    public let weights: StateDict
    /// [C, H, W] of one sample: the data geometry the model was trained on (the UNet itself takes any
    /// size its downsampling divides, so the geometry comes from the checkpoint, not the weights).
    public let sampleShape: [Int]

    /// Throws `StateDictMismatch` when the weights do not fit the network, `NetworkInputError` when the
    /// network cannot take `sampleShape` (default: `ModelConfig.defaultSampleShape`).
    public init(config: ModelConfig, weights: StateDict, sampleShape: [Int]? = nil) throws {
        try config.validate()
        network = config.makeNetwork()
        try weights.validate(against: network.parameterShapes)
        self.weights = weights
        let shape = sampleShape ?? config.defaultSampleShape
        try network.checkInput(channels: shape[0], height: shape[1], width: shape[2])
        self.sampleShape = shape
    }

    public var config: ModelConfig { network.modelConfig }

    /// v(x, sigma, labels) with guidance w per sample: v_null + w (v_cond - v_null) (diffusers).
    /// Samples with w == 1 cost one evaluation; the others are batched with their null-label twins.
    public func velocity(_ x: Tensor, sigmas: [Float], labels: [Int], guidance: [Float]) -> Tensor {
        guidedVelocity(x, sigmas: sigmas, labels: labels, guidance: guidance, nullLabel: network.nullLabel) {
            evaluate($0, sigmas: $1, labels: $2)
        }
    }

    /// Rows per network evaluation. BLAS picks kernels by row count (a linear layer's product of 10 or
    /// more rows has other bits than one of 8 on OpenBLAS's Cooperlake kernels), so a batch runs in
    /// groups of at most `groupRows` rows. When the network's per-row arithmetic is the same for 1...8
    /// rows (`rowsIndependentOfCount`: the UNet's convs and norms work per sample, `linear` multiplies at
    /// least 8 rows) groups hold only real rows, as evenly sized as their count allows; otherwise (DiT)
    /// groups have exactly 8 rows, the last one padded. Either way a sample's bits do not
    /// depend on its batch or on the thread count (`RowGroupTests`). 8 keeps per-sample solves (rollouts)
    /// cheap while large batches still run in full groups.
    public static let groupRows = 8

    /// The row ranges `evaluate` runs as groups, and the rows each is padded to.
    func rowGroups(_ n: Int) -> (ranges: [Range<Int>], rows: Int?) {
        let g = Self.groupRows
        guard network.rowsIndependentOfCount else {
            return ((0..<((n + g - 1) / g)).map { ($0 * g)..<min(n, ($0 + 1) * g) }, g)
        }
        // Fewest groups of at most g rows; sizes differ by <= 1. (One group per thread for small batches, e.g.
        // two groups of 4 at batch 8, was measured bimodal: 8 ms when Dispatch's pool had both threads up,
        // 15 ms when it did not; one group whose ops fork and join gave a steady 10-12 ms.)
        let count = (n + g - 1) / g, base = n / max(1, count), extra = n % max(1, count)
        var ranges: [Range<Int>] = [], start = 0
        for i in 0..<count {
            let size = base + (i < extra ? 1 : 0)
            ranges.append(start..<(start + size))
            start += size
        }
        return (ranges, nil)
    }

    /// One plain forward pass (no guidance), in the groups of `rowGroups`. Groups run in parallel
    /// (`parallelItems`: each thread takes the next group when it finishes one), each one's ops serially
    /// on its thread (nested `parallelChunks` run inline): every op of a forward is per-sample, so a row's
    /// bits do not depend on how groups are scheduled.
    public func evaluate(_ x: Tensor, sigmas: [Float], labels: [Int]) -> Tensor {
        let n = labels.count, inner = x.count / max(1, n)
        let (ranges, padTo) = rowGroups(n)
        if ranges.count == 1 && (padTo == nil || padTo == n) { return forward(x, sigmas: sigmas, labels: labels) }
        let out = [Float].uninitialized(x.count) { op in
            let ob = UnsafeSendable(op)
            parallelItems(ranges.count) { group in
                let r = ranges[group], pad = padTo.map { $0 - r.count } ?? 0
                var xs = Array(x.data[(r.lowerBound * inner)..<(r.upperBound * inner)])
                var ss = Array(sigmas[r]), ls = Array(labels[r])
                if pad > 0 {
                    xs += [Float](repeating: 0, count: pad * inner)
                    ss += [Float](repeating: 1, count: pad); ls += [Int](repeating: network.nullLabel, count: pad)
                }
                let v = forward(Tensor(shape: [r.count + pad] + Array(x.shape.dropFirst()), data: xs), sigmas: ss, labels: ls)
                v.data.withUnsafeBufferPointer { vp in
                    (ob.value + r.lowerBound * inner).update(from: vp.baseAddress!, count: r.count * inner)
                }
            }
        }
        return Tensor(shape: x.shape, data: out)
    }

    func forward(_ x: Tensor, sigmas: [Float], labels: [Int]) -> Tensor {
        let tape = Tape(recordsPullbacks: false)
        let p = tape.bind(weights, trainable: false)
        return network(tape.constant(x), sigmas: sigmas, labels: labels, p).value
    }
}
