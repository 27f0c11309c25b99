import ArgumentParser
import Foundation
import NN
import TensorCore
import ToolSupport
import Train

/// Timers of the reference models: UNet and DiT training/forward throughput, UNet forward latency.
extension FSBench {
    /// Milliseconds of one UNet forward (VelocityModel.evaluate) at batch 1, 8, 64 and 256 (median of --iterations).
    func forwardLatency(_ config: UNetConfig) -> [String: Double] {
        let unet = UNet(config)
        var weights = unet.initialParameters(seed: 0)
        weights["conv_out.weight"] = Tensor(repeating: 0.01, shape: weights["conv_out.weight"]!.shape)
        let model = try! VelocityModel(config: .unet(config), weights: weights)
        var g = SplitMix64(seed: 5)
        var res: [String: Double] = [:]
        for b in [1, 8, 64, 256] {
            let x = Tensor(shape: [b, Reference.channels, Reference.side, Reference.side], data: g.normals(b * Reference.floats))
            let sigmas = (0..<b).map { _ in g.uniform() }, labels = (0..<b).map { $0 % 11 }
            res["\(b)"] = 1000 * median { _ = model.evaluate(x, sigmas: sigmas, labels: labels) }
        }
        return res
    }

    func unetThroughput(_ config: UNetConfig) -> (train: Double?, forward: Double?) {
        let unet = UNet(config)
        var weights = unet.initialParameters(seed: 0)
        // Non-zero output layer so the backward pass is representative.
        weights["conv_out.weight"] = Tensor(repeating: 0.01, shape: weights["conv_out.weight"]!.shape)
        var opt = AdamW()
        var g = SplitMix64(seed: 2)
        let x0 = Tensor(shape: [batch, Reference.channels, Reference.side, Reference.side], data: g.normals(batch * Reference.floats))
        let noise = Tensor(shape: [batch, Reference.channels, Reference.side, Reference.side], data: g.normals(batch * Reference.floats))
        let sigmas = (0..<batch).map { _ in g.uniform() }, labels = (0..<batch).map { $0 % 11 }
        var train: Double? = nil, fwd: Double? = nil
        if only != "forward" {
            let s = median {
                _ = trainStep(unet, weights: &weights, optimizer: &opt, lr: 1e-4, clip: 1, x0: x0, noise: noise,
                              sigmas: sigmas, labels: labels)
            }
            train = Double(batch) / s
        }
        if only != "train" {
            let model = try! VelocityModel(config: .unet(config), weights: weights)
            fwd = Double(batch) / median { _ = model.evaluate(x0, sigmas: sigmas, labels: labels) }
        }
        return (train, fwd)
    }
    /// Training step (forward, MSE to the velocity target, backward, clip, AdamW; pos_embed frozen) and
    /// forward images/s of a DiT, as bench/peer_torch.py --model dit measures the reference.
    func ditThroughput(_ config: DiTConfig) -> (train: Double?, forward: Double?) {
        let dit = DiT(config)
        var weights = dit.initialParameters(seed: 0)
        // Non-zero adaLN and output layers so every path of the backward is representative.
        var r = SplitMix64(seed: 5)
        weights = weights.mapTensors { k, t in
            k.contains("adaLN_modulation") || k.hasPrefix("final_layer") ? Tensor(shape: t.shape, data: r.normals(t.count).map { $0 * 0.02 }) : t
        }
        var opt = AdamW(weightDecay: 0.01)
        var g = SplitMix64(seed: 2)
        let shape = [batch, Reference.channels, Reference.side, Reference.side], n = batch * Reference.floats
        let x0 = Tensor(shape: shape, data: g.normals(n)), noise = Tensor(shape: shape, data: g.normals(n))
        let sigmas = (0..<batch).map { _ in g.uniform() }, labels = (0..<batch).map { $0 % 11 }
        var train: Double? = nil, fwd: Double? = nil
        if only != "forward" {
            let s = median {
                let tape = Tape()
                let p = tape.bind(weights)
                let xt = FlowMatching.interpolate(x0: x0, noise: noise, sigmas: sigmas)
                let v = dit(tape.constant(xt), sigmas: sigmas, labels: labels, p)
                let loss = meanSquaredError(v, target: FlowMatching.velocityTarget(x0: x0, noise: noise))
                var grads = p.gradients(tape.backward(loss))
                for k in DiT.frozenKeys { grads[k] = nil }
                clipGradientNorm(&grads, maxNorm: 1)
                opt.update(&weights, grads: grads, lr: 1e-4)
            }
            train = Double(batch) / s
        }
        if only != "train" {
            let xt = FlowMatching.interpolate(x0: x0, noise: noise, sigmas: sigmas)
            fwd = Double(batch) / median { _ = dit.forward(xt, sigmas: sigmas, labels: labels, weights: weights) }
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
