import NN
import TensorCore

/// FlowSteer's discriminator at MNIST scale (paper §5, LADD-style with one global head):
/// a copy of the teacher's time/class embeddings, `conv_in`, down path and middle block, fully trainable
/// and initialised from the teacher, plus one linear head on the globally average-pooled SiLU of the
/// final (middle-block) feature map. It judges a trajectory state x at noise level sigma with label y,
/// conditioned through the copied embeddings exactly as the UNet is.
///
/// Parameter keys are the teacher's (`conv_in.weight`, `down.1.block.conv1.weight`, ...) plus
/// `head.weight` [1, C] and `head.bias` [1]; checkpoints store them under the prefix `disc.`.
public struct Discriminator: Sendable {
    public let unet: UNet
    public let head: Linear

    public init(_ config: UNetConfig) {
        unet = UNet(config)
        head = Linear("head", config.channels.last!, 1)
    }

    /// The UNet keys the discriminator copies: everything up to and including the middle block.
    public static func isEncoderKey(_ key: String) -> Bool {
        key.hasPrefix("time_embed.") || key.hasPrefix("class_embed.") || key.hasPrefix("conv_in.")
            || key.hasPrefix("down.") || key.hasPrefix("mid.")
    }

    /// (key, shape) of every parameter, teacher order then the head.
    public var parameterShapes: [(key: String, shape: [Int])] {
        unet.parameterShapes.filter { Self.isEncoderKey($0.key) } + head.parameterShapes
    }

    /// Initial weights: the teacher's encoder tensors and a freshly initialised head (PyTorch's default
    /// Linear init, seeded).
    public func initialWeights(teacher: StateDict, seed: UInt64) -> StateDict {
        var w = StateDict()
        for (k, t) in teacher.items where Self.isEncoderKey(k) { w[k] = t }
        w.merge(head.initialParameters(seed: seed))
        return w
    }

    /// The logit D(x, sigma, y) per sample ([n]) and the feature maps D_l (every down block and the
    /// middle block) used by feature matching.
    public func callAsFunction(_ x: Var, sigmas: [Float], labels: [Int], _ p: Parameters) -> (logits: Var, features: [Var]) {
        let siluEmb = silu(unet.embedding(sigmas: sigmas, labels: labels, p, tape: x.tape))
        let features = unet.encode(x, siluEmb: siluEmb, p)
        let pooled = meanSpatial(silu(features.last!))
        let logits = head(pooled, p)
        return (reshape(logits, [logits.shape[0]]), features)
    }
}
