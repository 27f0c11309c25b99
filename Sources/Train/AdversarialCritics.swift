import NN
import TensorCore

/// Which discriminator judges the student (issue 20 section 4).
public enum DiscriminatorKind: String, CaseIterable, Codable, Sendable {
    /// The teacher's encoder copied and trained whole, one head on its last map (`Discriminator`, the paper's).
    case encoder
    /// LADD-style: the frozen teacher's encoder features at every depth (UNet: down blocks and middle block;
    /// DiT: its first blocks), a small trainable head per depth, states re-noised before D
    /// (`FrozenFeatureDiscriminator`).
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

/// One depth's head, built for the feature's layout; a logit per sample that can weigh where in the
/// feature the evidence sits.
/// - maps [n, C, h, w]: SiLU, 3x3 conv (C -> C), SiLU, 1x1 conv (C -> 1), spatial mean (keys `.conv`, `.out`);
/// - tokens [n, T, D]: SiLU, linear (D -> D), SiLU, linear (D -> 1) on every token, token mean (`.fc`, `.out`).
public struct FeatureHead: Layer, Sendable {
    public let key: String
    public let layout: FeatureLayout

    public init(_ key: String, layout: FeatureLayout) { (self.key, self.layout) = (key, layout) }

    public var parameterSpecs: [ParameterSpec] {
        switch layout {
        case .maps(let c):
            Conv2d("\(key).conv", c, c, kernel: 3).parameterSpecs + Conv2d("\(key).out", c, 1, kernel: 1).parameterSpecs
        case .tokens(let d):
            Linear("\(key).fc", d, d).parameterSpecs + Linear("\(key).out", d, 1).parameterSpecs
        }
    }

    public func callAsFunction(_ f: Var, _ p: Parameters) -> Var {
        let n = f.shape[0]
        switch layout {
        case .maps(let c):
            let conv = Conv2d("\(key).conv", c, c, kernel: 3), out = Conv2d("\(key).out", c, 1, kernel: 1)
            return reshape(meanSpatial(out(silu(conv(silu(f), p)), p)), [n])
        case .tokens:
            func lin(_ name: String, _ v: Var) -> Var { linearRows(v, weight: p["\(key).\(name).weight"], bias: p["\(key).\(name).bias"]) }
            return reshape(meanTokens(lin("out", silu(lin("fc", silu(f))))), [n])   // [n, T, 1] -> [n]
        }
    }
}

/// LADD-style discriminator (Sauer et al. 2024) on any velocity network: the teacher's own encoder
/// (`VelocityNetwork.encoderFeatures`: the UNet's down blocks and middle block, the DiT's first `blocks`
/// blocks), frozen, supplies a feature per depth for the (re-noised) state at its sigma and label; a small
/// trainable `FeatureHead` per depth turns each into a logit, and D is their mean. Only the heads train
/// (keys `heads.L.*`); the teacher weights enter every pass as constants, so the generator's gradient still
/// reaches the student through the state.
public struct FrozenFeatureDiscriminator: DistillCritic {
    public let network: any VelocityNetwork
    /// Encoder depth (DiT blocks); nil for the UNet's fixed encoder or the DiT's default.
    public let blocks: Int?
    public let teacher: StateDict
    public let heads: [FeatureHead]

    public init(_ network: any VelocityNetwork, blocks: Int? = nil, teacher: StateDict) {
        (self.network, self.blocks, self.teacher) = (network, blocks, teacher)
        heads = network.encoderFeatureLayouts(blocks: blocks).enumerated().map { FeatureHead("heads.\($0.offset)", layout: $0.element) }
    }

    public var renoises: Bool { true }

    public func initialWeights(teacher: StateDict, seed: UInt64) -> StateDict {
        var w = StateDict()
        for (i, h) in heads.enumerated() { w.merge(h.initialParameters(seed: streamSeed(seed, StreamPurpose.init_, UInt64(1000 + i)))) }
        return w
    }

    public func callAsFunction(_ x: Var, sigmas: [Float], labels: [Int], _ p: Parameters) -> (logits: Var, features: [Var]) {
        let frozen = x.tape.bind(teacher, trainable: false)
        let features = network.encoderFeatures(x, sigmas: sigmas, labels: labels, blocks: blocks, frozen)
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
