import NN
import TensorCore

/// Integrates the probability-flow ODE dx/dsigma = v from sigmas[0] down to sigmas.last.
public enum Sampler {
    public enum Method: String, Sendable, CaseIterable, Codable { case euler, heun }

    /// Samples from `noise` along `sigmas` (descending, ending at 0 for a full sample).
    /// `onState(i, x)` sees every state x_i (i = 0 is the noise, i = sigmas.count - 1 the result).
    public static func sample(_ model: VelocityModel, noise: Tensor, labels: [Int], guidance: [Float],
                              sigmas: [Float], method: Method = .euler,
                              onState: ((Int, Tensor) -> Void)? = nil) -> Tensor {
        let n = labels.count
        var x = noise
        onState?(0, x)
        for i in 0..<(sigmas.count - 1) {
            let (s, s1) = (sigmas[i], sigmas[i + 1])
            let v = model.velocity(x, sigmas: [Float](repeating: s, count: n), labels: labels, guidance: guidance)
            if method == .heun && s1 > 0 {
                // Heun (EDM Alg. 1): average the slopes at both ends; the last step to 0 stays Euler.
                let xe = FlowMatching.eulerStep(x, velocity: v, from: s, to: s1)
                let v2 = model.velocity(xe, sigmas: [Float](repeating: s1, count: n), labels: labels, guidance: guidance)
                x = FlowMatching.eulerStep(x, velocity: (v + v2) * 0.5, from: s, to: s1)
            } else {
                x = FlowMatching.eulerStep(x, velocity: v, from: s, to: s1)
            }
            onState?(i + 1, x)
        }
        return x
    }
}
