import NN
import TensorCore

/// AdamW with PyTorch's semantics (torch.optim.AdamW, amsgrad=False):
///   p <- p * (1 - lr * wd)                       (decoupled weight decay)
///   m <- b1 m + (1 - b1) g ;  v <- b2 v + (1 - b2) g^2
///   p <- p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
/// State is keyed by parameter name (`m`, `v` StateDicts), so it survives architecture edits.
public struct AdamW: Sendable {
    public var beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    public private(set) var step: Int = 0
    public var m = StateDict(), v = StateDict()

    public init(beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0) {
        (self.beta1, self.beta2, self.eps, self.weightDecay) = (beta1, beta2, eps, weightDecay)
    }

    /// Restores a saved state (moments and step count).
    public init(beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0,
                step: Int, m: StateDict, v: StateDict) {
        self.init(beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay)
        (self.step, self.m, self.v) = (step, m, v)
    }

    /// One update of every parameter that has a gradient, at learning rate `lr`; `frozen` keys (fixed
    /// buffers such as DiT's `pos_embed`) are left alone, weight decay included.
    public mutating func update(_ params: inout StateDict, grads: StateDict, lr: Float, frozen: Set<String> = []) {
        step += 1
        let bc1 = 1 - powf(beta1, Float(step)), bc2 = 1 - powf(beta2, Float(step))
        let (b1, b2, e, decay) = (beta1, beta2, eps, 1 - lr * weightDecay)
        let stepSize = lr / bc1, bc2Sqrt = bc2.squareRoot()
        for key in params.keys where !frozen.contains(key) {
            guard let g = grads[key] else { continue }
            var p = params[key]!
            var mk = m[key] ?? Tensor(zeros: p.shape), vk = v[key] ?? Tensor(zeros: p.shape)
            precondition(g.shape == p.shape, "AdamW: gradient \(g.shape) for \(key) \(p.shape)")
            p.data.withUnsafeMutableBufferPointer { pp in
            mk.data.withUnsafeMutableBufferPointer { mp in
            vk.data.withUnsafeMutableBufferPointer { vp in
            g.data.withUnsafeBufferPointer { gp in
                for i in 0..<pp.count {
                    let gi = gp[i]
                    mp[i] = b1 * mp[i] + (1 - b1) * gi
                    vp[i] = b2 * vp[i] + (1 - b2) * gi * gi
                    // PyTorch: denom = sqrt(v) / sqrt(bc2) + eps ; p -= (lr / bc1) * m / denom
                    pp[i] = pp[i] * decay - stepSize * mp[i] / (vp[i].squareRoot() / bc2Sqrt + e)
                }
            }}}}
            params[key] = p; m[key] = mk; v[key] = vk
        }
    }
}

import Foundation
