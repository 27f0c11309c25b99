import NN
import TensorCore

/// FlowSteer's discriminator (paper §5, LADD-style with one global head), built on any velocity network:
/// a copy of the teacher's encoder (`VelocityNetwork.encoderFeatures`: the UNet's embeddings, `conv_in`,
/// down path and middle block; the DiT's embeddings and its first `blocks` transformer blocks, paper
/// Table 4), fully trainable and initialised from the teacher, plus one linear head on the pooled last
/// feature (`pooledFeature`: the UNet's global average of SiLU(middle block), the DiT's token mean of
/// SiLU(tokens)). It judges a trajectory state x at noise level sigma with label y, conditioned through
/// the copied embeddings exactly as the teacher is.
///
/// Parameter keys are the teacher's (`conv_in.weight`, `blocks.0.attn.qkv.weight`, ...) plus `head.weight`
/// [1, width] and `head.bias` [1]; checkpoints store them under the prefix `disc.`. Fixed buffers
/// (DiT's `pos_embed`) stay the teacher's: `frozenKeys`.
public struct Discriminator: Sendable {
    public let network: any VelocityNetwork
    /// Encoder depth (DiT blocks); nil for the UNet's fixed encoder or the DiT's default.
    public let blocks: Int?
    public let head: Linear

    public init(_ network: any VelocityNetwork, blocks: Int? = nil) {
        precondition(blocks == nil || (network.maxEncoderBlocks.map { (1...$0).contains(blocks!) } ?? false),
                     "Discriminator: \(blocks ?? 0) blocks for a network with \(network.maxEncoderBlocks.map(String.init) ?? "a fixed") encoder depth")
        self.network = network
        self.blocks = blocks
        head = Linear("head", network.featureWidth, 1)
    }

    /// The teacher keys the discriminator copies.
    public func isEncoderKey(_ key: String) -> Bool { network.isEncoderKey(key, blocks: blocks) }

    /// Keys its optimizer leaves alone.
    public var frozenKeys: Set<String> { network.frozenKeys }

    /// (key, shape) of every parameter, teacher order then the head.
    public var parameterShapes: [(key: String, shape: [Int])] {
        network.parameterShapes.filter { isEncoderKey($0.key) } + head.parameterShapes
    }

    /// Initial weights: the teacher's encoder tensors and a freshly initialised head (PyTorch's default
    /// Linear init, seeded).
    public func initialWeights(teacher: StateDict, seed: UInt64) -> StateDict {
        var w = StateDict()
        for (k, t) in teacher.items where isEncoderKey(k) { w[k] = t }
        w.merge(head.initialParameters(seed: seed))
        return w
    }

    /// The logit D(x, sigma, y) per sample ([n]) and the encoder features D_l used by feature matching.
    public func callAsFunction(_ x: Var, sigmas: [Float], labels: [Int], _ p: Parameters) -> (logits: Var, features: [Var]) {
        let features = network.encoderFeatures(x, sigmas: sigmas, labels: labels, blocks: blocks, p)
        let logits = head(network.pooledFeature(features.last!), p)
        return (reshape(logits, [logits.shape[0]]), features)
    }
}
