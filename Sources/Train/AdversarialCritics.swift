import NN
import TensorCore

/// Which discriminator judges the student (issue 20 section 4).
public enum DiscriminatorKind: String, CaseIterable, Codable, Sendable {
    /// The teacher's encoder copied and trained whole, one head on its last map (`Discriminator`, the paper's).
    case encoder
    /// LADD-style: the frozen teacher's features at every down block and the middle block, a small
    /// trainable head per depth, states re-noised before D (`FrozenFeatureDiscriminator`).
    case frozenHeads = "frozen-heads"
}

/// A discriminator the distillation trainer can train: logits per sample and the feature maps that
/// feature matching compares. `p` holds only its trainable weights (checkpoints' `disc.*`).
public protocol DistillCritic: Sendable {
    func initialWeights(teacher: StateDict, seed: UInt64) -> StateDict
    func callAsFunction(_ x: Var, sigmas: [Float], labels: [Int], _ p: Parameters) -> (logits: Var, features: [Var])
    /// Whether real and fake states are re-noised to a random higher sigma before D sees them.
    var renoises: Bool { get }
}

extension Discriminator: DistillCritic {
    public var renoises: Bool { false }
}

/// One depth's head: SiLU, 3x3 conv (C -> C), SiLU, 1x1 conv (C -> 1), spatial mean: a logit per sample
/// that can weigh where in the map the evidence sits.
public struct FeatureHead: Layer, Sendable {
    public let conv: Conv2d, out: Conv2d
    public init(_ key: String, channels: Int) {
        conv = Conv2d("\(key).conv", channels, channels, kernel: 3)
        out = Conv2d("\(key).out", channels, 1, kernel: 1)
    }
    public var parameterSpecs: [ParameterSpec] { conv.parameterSpecs + out.parameterSpecs }
    public func callAsFunction(_ f: Var, _ p: Parameters) -> Var {
        let m = meanSpatial(out(silu(conv(silu(f), p)), p))
        return reshape(m, [m.shape[0]])
    }
}

/// LADD-style discriminator (Sauer et al. 2024): the teacher's own encoder, frozen, supplies features at
/// every down block and at the middle block for the (re-noised) state at its sigma and label; a small
/// trainable `FeatureHead` per depth turns each into a logit, and D is their mean. Only the heads train
/// (keys `heads.L.conv.*`, `heads.L.out.*`); the teacher weights enter every pass as constants, so
/// the generator's gradient still reaches the student through the state.
public struct FrozenFeatureDiscriminator: DistillCritic {
    public let unet: UNet
    public let teacher: StateDict
    public let heads: [FeatureHead]

    /// `network` must be a UNet (the heads are convolutions on its feature maps; `DistillData` checks it).
    public init(_ network: any VelocityNetwork, teacher: StateDict) {
        guard let unet = network as? UNet else { preconditionFailure("FrozenFeatureDiscriminator: \(network.modelConfig.kind) teacher, not a UNet") }
        self.unet = unet
        self.teacher = teacher
        let c = unet.config.channels
        heads = (c + [c.last!]).enumerated().map { FeatureHead("heads.\($0.offset)", channels: $0.element) }
    }

    public var renoises: Bool { true }

    public func initialWeights(teacher: StateDict, seed: UInt64) -> StateDict {
        var w = StateDict()
        for (i, h) in heads.enumerated() { w.merge(h.initialParameters(seed: streamSeed(seed, StreamPurpose.init_, UInt64(1000 + i)))) }
        return w
    }

    public func callAsFunction(_ x: Var, sigmas: [Float], labels: [Int], _ p: Parameters) -> (logits: Var, features: [Var]) {
        let frozen = x.tape.bind(teacher, trainable: false)
        let siluEmb = silu(unet.embedding(sigmas: sigmas, labels: labels, frozen, tape: x.tape))
        let features = unet.encode(x, siluEmb: siluEmb, frozen)
        var logits = heads[0](features[0], p)
        for l in 1..<heads.count { logits = logits + heads[l](features[l], p) }
        return (logits * (1 / Float(heads.count)), features)
    }
}

/// Re-noising before D (LADD): a state at sigma a moves along the forward process to b >= a,
/// x_b = (1 - b)/(1 - a) x_a + sqrt(b^2 - ((1 - b) a / (1 - a))^2) eps, with b = a + (1 - a) u / 2, u ~ U[0, 1):
/// D then judges both states at a noise level where coarse structure, not pixel noise, separates them.
/// Real and fake of a sample share b and eps.
public struct Renoise: Sendable {
    public var alpha: [Float]
    /// beta_i eps_i, the added noise.
    public var noise: Tensor
    public var sigmas: [Float]

    /// The draws for states at `sigmas` (seed i: sample i's own stream).
    public init(sigmas a: [Float], seeds: [UInt64], sampleShape: [Int]) {
        let f = sampleShape.reduce(1, *)
        var alpha: [Float] = [], out: [Float] = [], b: [Float] = []
        out.reserveCapacity(a.count * f)
        for (i, ai) in a.enumerated() {
            var g = SplitMix64(seed: seeds[i])
            let bi = ai + (1 - ai) * 0.5 * g.uniform()
            let al = (1 - bi) / (1 - ai)
            let beta = max(0, bi * bi - al * al * ai * ai).squareRoot()
            out += g.normals(f).map { $0 * beta }
            alpha.append(al); b.append(bi)
        }
        (self.alpha, self.sigmas) = (alpha, b)
        noise = stateTensor(out, sampleShape)
    }

    public func apply(_ x: Tensor) -> Tensor {
        var y = x.scaledPerSample(alpha)
        y.add(noise)
        return y
    }

    public func apply(_ x: Var) -> Var { scalePerSample(x, alpha) + x.tape.constant(noise) }
}
