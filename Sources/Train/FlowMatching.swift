import TensorCore
import Foundation

/// The one place that defines the flow-matching convention (diffusers / SD3):
/// x_sigma = (1 - sigma) x0 + sigma eps, sigma = 1 is pure noise, and the model predicts v = eps - x0.
public enum FlowMatching {
    /// x_sigma for each sample's own sigma.
    public static func interpolate(x0: Tensor, noise: Tensor, sigmas: [Float]) -> Tensor {
        precondition(x0.shape == noise.shape && x0.shape[0] == sigmas.count, "interpolate: shapes \(x0.shape) \(noise.shape) \(sigmas.count)")
        let inner = x0.count / sigmas.count
        var out = [Float](repeating: 0, count: x0.count)
        for i in 0..<sigmas.count {
            let s = sigmas[i]
            for j in 0..<inner { let k = i * inner + j; out[k] = (1 - s) * x0.data[k] + s * noise.data[k] }
        }
        return Tensor(shape: x0.shape, data: out)
    }

    /// The velocity target eps - x0.
    public static func velocityTarget(x0: Tensor, noise: Tensor) -> Tensor { noise - x0 }

    /// One Euler step per sample: x + (sigmaNext - sigma) v.
    public static func eulerStep(_ x: Tensor, velocity v: Tensor, from sigma: Float, to next: Float) -> Tensor {
        var out = x
        out.add(v, scale: next - sigma)
        return out
    }
}

/// The training density of sigma: with probability `uniformShare` uniform on (0, 1), otherwise
/// SD3's logit-normal sigmoid(N(0, 1)) pushed through the schedule's shift, so training sees the
/// noise levels the shifted sampler visits (70/30 worked in the PyTorch pilot).
public struct SigmaSampler: Sendable, Codable, Equatable {
    public var shift: Float = 3
    public var uniformShare: Float = 0.3

    public init(shift: Float = 3, uniformShare: Float = 0.3) { (self.shift, self.uniformShare) = (shift, uniformShare) }

    public func draw(_ rng: inout SplitMix64) -> Float {
        let u = rng.uniform()
        var s: Float
        if u < uniformShare {
            s = rng.uniformOpen()
        } else {
            let z = rng.normals(1)[0]
            s = 1 / (1 + expf(-z))
            s = shift * s / (1 + (shift - 1) * s)
        }
        return min(max(s, 1e-4), 1)
    }
}
