import ArgumentParser
import Foundation
import NN
import TensorCore
import ToolSupport
import Train

/// Timers of the reference models through the model seam: training/forward throughput of any backbone, forward
/// latency.
extension FSBench {
    /// Initial weights with every zero-initialised weight matrix (the UNet's conv_out, the DiT's adaLN and final
    /// layer) drawn small instead, so the backward pass is representative. Fixed buffers stay as they are.
    func benchWeights(_ network: any VelocityNetwork) -> StateDict {
        var r = SplitMix64(seed: 5)
        return network.initialParameters(seed: 0).mapTensors { k, t in
            k.hasSuffix(".weight") && !network.frozenKeys.contains(k) && t.data.allSatisfy { $0 == 0 }
                ? Tensor(shape: t.shape, data: r.normals(t.count).map { $0 * 0.02 }) : t
        }
    }

    /// Milliseconds of one forward (VelocityModel.evaluate) at batch 1, 8, 64 and 256 (median of --iterations).
    func forwardLatency(_ config: ModelConfig) -> [String: Double] {
        let model = try! VelocityModel(config: config, weights: benchWeights(config.makeNetwork()))
        var g = SplitMix64(seed: 5)
        var res: [String: Double] = [:]
        for b in [1, 8, 64, 256] {
            let x = Tensor(shape: [b, Reference.channels, Reference.side, Reference.side], data: g.normals(b * Reference.floats))
            let sigmas = (0..<b).map { _ in g.uniform() }, labels = (0..<b).map { $0 % 11 }
            res["\(b)"] = 1000 * median { _ = model.evaluate(x, sigmas: sigmas, labels: labels) }
        }
        return res
    }

    /// Images/s of a training step (forward, MSE to the velocity target, backward, clip, AdamW; fixed buffers
    /// frozen: `trainStep`) and of a forward, as bench/peer_torch.py measures the reference models. The forward
    /// is the sampler's path (`VelocityModel.evaluate`, row groups of 8) when `grouped`, else one pass over the
    /// whole batch; each key keeps the path its history in docs/performance.md was measured with.
    func throughput(_ config: ModelConfig, weightDecay: Float, grouped: Bool) -> (train: Double?, forward: Double?) {
        let network = config.makeNetwork()
        var weights = benchWeights(network)
        var opt = AdamW(weightDecay: weightDecay)
        var g = SplitMix64(seed: 2)
        let shape = [batch, Reference.channels, Reference.side, Reference.side], n = batch * Reference.floats
        let x0 = Tensor(shape: shape, data: g.normals(n)), noise = Tensor(shape: shape, data: g.normals(n))
        let sigmas = (0..<batch).map { _ in g.uniform() }, labels = (0..<batch).map { $0 % 11 }
        var train: Double? = nil, fwd: Double? = nil
        if only != "forward" {
            let s = median {
                _ = trainStep(network, weights: &weights, optimizer: &opt, lr: 1e-4, clip: 1, x0: x0, noise: noise,
                              sigmas: sigmas, labels: labels)
            }
            train = Double(batch) / s
        }
        if only != "train" {
            let model = try! VelocityModel(config: config, weights: weights)
            let xt = FlowMatching.interpolate(x0: x0, noise: noise, sigmas: sigmas)
            fwd = Double(batch) / median {
                _ = grouped ? model.evaluate(xt, sigmas: sigmas, labels: labels)
                            : network.forward(xt, sigmas: sigmas, labels: labels, weights: weights)
            }
        }
        return (train, fwd)
    }
}

/// The reference workloads' image (issue 2's UNet benchmark and issue 21's DiT one are defined on MNIST-sized gray
/// images, so their ratios against PyTorch stay comparable across sessions); every timed tensor derives from it.
/// Static members, not top-level lets: main.swift's globals are set in order, after the command has run.
enum Reference {
    static let side = 28, channels = 1
    static let floats = channels * side * side
}
