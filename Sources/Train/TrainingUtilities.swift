import NN
import TensorCore
import Foundation

/// Exponential moving average of weights: ema <- decay * ema + (1 - decay) * w.
public enum EMA {
    public static func update(_ ema: inout StateDict, toward weights: StateDict, decay: Float) {
        for key in weights.keys {
            let w = weights[key]!
            var e = ema[key] ?? w
            e.data.withUnsafeMutableBufferPointer { ep in
                w.data.withUnsafeBufferPointer { wp in
                    for i in 0..<ep.count { ep[i] = decay * ep[i] + (1 - decay) * wp[i] }
                }
            }
            ema[key] = e
        }
    }
}

/// Global-norm gradient clipping (torch.nn.utils.clip_grad_norm_): scales all gradients by
/// max_norm / (norm + 1e-6) when the norm exceeds max_norm. Returns the norm before clipping.
@discardableResult
public func clipGradientNorm(_ grads: inout StateDict, maxNorm: Float) -> Float {
    var total = 0.0
    for (_, g) in grads.items { for v in g.data { total += Double(v) * Double(v) } }
    let norm = Float(total.squareRoot())
    let coef = maxNorm / (norm + 1e-6)
    if coef < 1 { grads = grads.mapTensors { _, t in t * coef } }
    return norm
}

/// Linear warm-up from lr/warmup to lr over `warmup` steps, then constant (step counts from 1).
public func warmupLearningRate(base: Float, step: Int, warmup: Int) -> Float {
    warmup <= 0 ? base : base * min(1, Float(step) / Float(warmup))
}

/// The warm-up of `warmupLearningRate`, then a cosine from lr down to 0 at step `total` (and 0 after it).
public func cosineLearningRate(base: Float, step: Int, warmup: Int, total: Int) -> Float {
    guard step > warmup else { return warmupLearningRate(base: base, step: step, warmup: warmup) }
    let span = max(1, total - warmup)
    let progress = min(1, Double(step - warmup) / Double(span))
    return base * Float(0.5 * (1 + cos(Double.pi * progress)))
}
