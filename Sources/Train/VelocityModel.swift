import NN
import TensorCore

/// A UNet with fixed weights, evaluated without gradients, with classifier-free guidance.
public struct VelocityModel: Sendable {
    public let unet: UNet
    public let weights: StateDict

    public init(config: UNetConfig, weights: StateDict) throws {
        unet = UNet(config)
        try weights.validate(against: unet.parameterShapes)
        self.weights = weights
    }

    /// v(x, sigma, labels) with guidance w per sample: v_null + w (v_cond - v_null) (diffusers).
    /// Samples with w == 1 cost one evaluation; the others are batched with their null-label twins.
    public func velocity(_ x: Tensor, sigmas: [Float], labels: [Int], guidance: [Float]) -> Tensor {
        let n = labels.count
        precondition(x.shape[0] == n && sigmas.count == n && guidance.count == n, "velocity: batch sizes differ")
        let guided = (0..<n).filter { guidance[$0] != 1 }
        if guided.isEmpty { return evaluate(x, sigmas: sigmas, labels: labels) }
        // One batch: all conditional rows, then the null rows of the guided samples.
        let inner = x.count / n
        var xs = x.data; xs.reserveCapacity(x.count + guided.count * inner)
        var ss = sigmas, ls = labels
        for i in guided {
            xs += x.data[(i * inner)..<((i + 1) * inner)]
            ss.append(sigmas[i]); ls.append(unet.config.nullLabel)
        }
        let both = evaluate(Tensor(shape: [n + guided.count] + Array(x.shape.dropFirst()), data: xs), sigmas: ss, labels: ls)
        var v = Array(both.data[0..<(n * inner)])
        for (j, i) in guided.enumerated() {
            let w = guidance[i], nullBase = (n + j) * inner
            for k in 0..<inner {
                let c = v[i * inner + k], u = both.data[nullBase + k]
                v[i * inner + k] = u + w * (c - u)
            }
        }
        return Tensor(shape: x.shape, data: v)
    }

    /// One plain forward pass (no guidance).
    public func evaluate(_ x: Tensor, sigmas: [Float], labels: [Int]) -> Tensor {
        let tape = Tape(recordsPullbacks: false)
        let p = tape.bind(weights, trainable: false)
        return unet(tape.constant(x), sigmas: sigmas, labels: labels, p).value
    }
}
