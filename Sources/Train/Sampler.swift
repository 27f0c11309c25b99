import NN
import TensorCore

/// A sampler state or model output that is NaN or infinite: sampling stops there rather than storing
/// garbage. `step` is the 0-based Euler/Heun step, `sigma` the noise level the step started from.
public struct NonFiniteSampling: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Quantity: String, Sendable { case velocity, state }
    public let quantity: Quantity
    public let step: Int
    public let sigma: Float
    public let steps: Int

    public var description: String {
        "the model's \(quantity.rawValue) became NaN or infinite at step \(step + 1) of \(steps) (sigma \(sigma))"
    }
}

/// Integrates the probability-flow ODE dx/dsigma = v from sigmas[0] down to sigmas.last.
public enum Sampler {
    public enum Method: String, Sendable, CaseIterable, Codable { case euler, heun }

    /// Samples from `noise` along `sigmas` (descending, ending at 0 for a full sample).
    /// `onState(i, x)` sees every state x_i (i = 0 is the noise, i = sigmas.count - 1 the result).
    public static func sample(_ model: VelocityModel, noise: Tensor, labels: [Int], guidance: [Float],
                              sigmas: [Float], method: Method = .euler,
                              onState: ((Int, Tensor) -> Void)? = nil) -> Tensor {
        integrate(model, noise: noise, labels: labels, guidance: guidance, sigmas: sigmas, method: method,
                  onState: onState, check: nil)
    }

    /// `sample`, but every velocity and state is checked: the first NaN or infinity throws
    /// `NonFiniteSampling` naming the step and sigma (a cheap scan next to a UNet evaluation).
    public static func sampleChecked(_ model: VelocityModel, noise: Tensor, labels: [Int], guidance: [Float],
                                     sigmas: [Float], method: Method = .euler,
                                     onState: ((Int, Tensor) -> Void)? = nil) throws -> Tensor {
        var failure: NonFiniteSampling?
        let x = integrate(model, noise: noise, labels: labels, guidance: guidance, sigmas: sigmas, method: method,
                          onState: onState) { q, i, t in
            if failure == nil && !t.data.allSatisfy({ $0.isFinite }) {
                failure = NonFiniteSampling(quantity: q, step: i, sigma: sigmas[i], steps: sigmas.count - 1)
            }
            return failure == nil
        }
        if let failure { throw failure }
        return x
    }

    /// The loop; `check(quantity, step, tensor)` returning false stops it early.
    static func integrate(_ model: VelocityModel, noise: Tensor, labels: [Int], guidance: [Float], sigmas: [Float],
                          method: Method, onState: ((Int, Tensor) -> Void)?,
                          check: ((NonFiniteSampling.Quantity, Int, Tensor) -> Bool)?) -> Tensor {
        let n = labels.count
        var x = noise
        onState?(0, x)
        for i in 0..<(sigmas.count - 1) {
            let (s, s1) = (sigmas[i], sigmas[i + 1])
            let v = model.velocity(x, sigmas: [Float](repeating: s, count: n), labels: labels, guidance: guidance)
            if let check, !check(.velocity, i, v) { return x }
            if method == .heun && s1 > 0 {
                // Heun (EDM Alg. 1): average the slopes at both ends; the last step to 0 stays Euler.
                let xe = FlowMatching.eulerStep(x, velocity: v, from: s, to: s1)
                let v2 = model.velocity(xe, sigmas: [Float](repeating: s1, count: n), labels: labels, guidance: guidance)
                if let check, !check(.velocity, i, v2) { return x }
                x = FlowMatching.eulerStep(x, velocity: (v + v2) * 0.5, from: s, to: s1)
            } else {
                x = FlowMatching.eulerStep(x, velocity: v, from: s, to: s1)
            }
            if let check, !check(.state, i, x) { return x }
            onState?(i + 1, x)
        }
        return x
    }
}
