import Datasets
import Foundation
import NN
import TensorCore

/// Settings of the feature network's training run. The defaults are the recipe of the embedded
/// weights (docs/eval.md), so `FeatureNetworkTraining.train(FeatureNetworkTrainingConfig(), ...)`
/// reproduces them.
public struct FeatureNetworkTrainingConfig: Sendable, Codable, Equatable {
    public var epochs = 4
    public var batchSize = 64
    /// Peak learning rate of SGD with momentum, reached after `warmupSteps` and decayed by a cosine to 0.
    public var learningRate: Float = 0.05
    public var momentum: Float = 0.9
    /// L2 weight decay added to the gradient (PyTorch `SGD(weight_decay=)`), on every parameter.
    public var weightDecay: Float = 5e-4
    public var warmupSteps = 200
    /// Seeds initialisation (`StreamPurpose.init_`) and the per-epoch data order (`StreamPurpose.data`).
    public var seed: UInt64 = 0

    public init() {}
}

/// Progress of a training run, reported after every step.
public struct FeatureNetworkTrainingProgress: Sendable {
    public let step: Int, totalSteps: Int, epoch: Int
    /// Cross-entropy of this step's batch.
    public let loss: Float
    public let learningRate: Float
}

/// Trains a `FeatureNetwork` for a labelled dataset's geometry and classes with the project's tape
/// autodiff (the embedded MNIST weights were made this way, on the MNIST training split).
///
/// Why SGD with momentum here rather than the project's AdamW: Eval sits beside Train in the
/// layering and must not import it; plain momentum SGD with a cosine schedule is a standard, robust
/// recipe for a small CNN classifier and needs only a few lines.
public enum FeatureNetworkTraining {
    /// Trained weights. `progress` is called after each step (for logging; keep it cheap).
    public static func train(_ config: FeatureNetworkTrainingConfig, data: ImageDataset,
                             progress: (FeatureNetworkTrainingProgress) -> Void = { _ in }) -> StateDict {
        precondition(data.isLabelled, "FeatureNetworkTraining: \(data.record.spec) has no labels")
        let g = data.geometry
        let net = FeatureNetwork(FeatureNetworkConfig(inChannels: g.channels, height: g.height, width: g.width,
                                                      classes: data.classCount))
        var weights = net.initialParameters(seed: config.seed)
        var velocity = weights.mapTensors { _, t in Tensor(zeros: t.shape) }
        let n = data.count, b = config.batchSize
        let stepsPerEpoch = n / b            // the last partial batch of an epoch is dropped
        let total = stepsPerEpoch * config.epochs
        var step = 0
        for epoch in 0..<config.epochs {
            let order = permutation(n, seed: streamSeed(config.seed, StreamPurpose.data, UInt64(epoch)))
            for s in 0..<stepsPerEpoch {
                let idx = Array(order[(s * b)..<((s + 1) * b)])
                let tape = Tape()
                let p = tape.bind(weights)
                let out = net(tape.constant(data.batch(idx)), p)
                let loss = softmaxCrossEntropy(out.logits, labels: idx.map { data.labels[$0] })
                let grads = p.gradients(tape.backward(loss))
                let lr = learningRate(config, step: step, total: total)
                sgdMomentumStep(&weights, velocity: &velocity, grads: grads, lr: lr,
                                momentum: config.momentum, weightDecay: config.weightDecay)
                step += 1
                progress(FeatureNetworkTrainingProgress(step: step, totalSteps: total, epoch: epoch,
                                                        loss: loss.value.scalar, learningRate: lr))
            }
        }
        return weights
    }

    /// Linear warmup to the peak, then a cosine decay to 0 at the last step.
    static func learningRate(_ c: FeatureNetworkTrainingConfig, step: Int, total: Int) -> Float {
        if step < c.warmupSteps { return c.learningRate * Float(step + 1) / Float(c.warmupSteps) }
        let t = Double(step - c.warmupSteps) / Double(max(1, total - c.warmupSteps))
        return c.learningRate * Float(0.5 * (1 + cos(Double.pi * t)))
    }

    /// PyTorch `SGD(momentum=mu, weight_decay=wd)`: g += wd·p; v = mu·v + g; p -= lr·v.
    static func sgdMomentumStep(_ weights: inout StateDict, velocity: inout StateDict, grads: StateDict,
                                lr: Float, momentum mu: Float, weightDecay wd: Float) {
        for key in weights.keys {
            guard let g = grads[key] else { continue }
            var p = weights[key]!, v = velocity[key]!
            p.data.withUnsafeMutableBufferPointer { pp in
                v.data.withUnsafeMutableBufferPointer { vp in
                    g.data.withUnsafeBufferPointer { gp in
                        for i in 0..<pp.count {
                            vp[i] = mu * vp[i] + gp[i] + wd * pp[i]
                            pp[i] -= lr * vp[i]
                        }
                    }
                }
            }
            weights[key] = p; velocity[key] = v
        }
    }

    /// A uniformly random permutation of 0..<n (Fisher–Yates with SplitMix64).
    static func permutation(_ n: Int, seed: UInt64) -> [Int] {
        var g = SplitMix64(seed: seed)
        var a = Array(0..<n)
        for i in stride(from: n - 1, to: 0, by: -1) { a.swapAt(i, g.below(i + 1)) }
        return a
    }
}
