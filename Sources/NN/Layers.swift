import TensorCore

/// y = x·Wᵀ + b, PyTorch `nn.Linear`: weight [out, in], bias [out].
public struct Linear: Layer, Sendable {
    public let key: String, inFeatures: Int, outFeatures: Int
    public init(_ key: String, _ inFeatures: Int, _ outFeatures: Int) {
        (self.key, self.inFeatures, self.outFeatures) = (key, inFeatures, outFeatures)
    }
    public var parameterSpecs: [ParameterSpec] {
        [.init("\(key).weight", [outFeatures, inFeatures], .kaimingUniform(fanIn: inFeatures)),
         .init("\(key).bias", [outFeatures], .pytorchBias(fanIn: inFeatures))]
    }
    public func callAsFunction(_ x: Var, _ p: Parameters) -> Var {
        linear(x, weight: p["\(key).weight"], bias: p["\(key).bias"])
    }
}

/// PyTorch `nn.Conv2d` with a square kernel and bias: weight [out, in, k, k], bias [out].
public struct Conv2d: Layer, Sendable {
    public let key: String, inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int
    /// Zero-initialised weights and bias (used for output layers, as DiT does, so training starts at v = 0).
    public let zeroInit: Bool
    public init(_ key: String, _ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1,
                padding: Int? = nil, zeroInit: Bool = false) {
        (self.key, self.inChannels, self.outChannels, self.kernel, self.stride) = (key, inChannels, outChannels, kernel, stride)
        self.padding = padding ?? kernel / 2
        self.zeroInit = zeroInit
    }
    public var parameterSpecs: [ParameterSpec] {
        let fanIn = inChannels * kernel * kernel
        return [.init("\(key).weight", [outChannels, inChannels, kernel, kernel], zeroInit ? .zeros : .kaimingUniform(fanIn: fanIn)),
                .init("\(key).bias", [outChannels], zeroInit ? .zeros : .pytorchBias(fanIn: fanIn))]
    }
    public func callAsFunction(_ x: Var, _ p: Parameters) -> Var {
        conv2d(x, weight: p["\(key).weight"], bias: p["\(key).bias"], stride: stride, padding: padding)
    }
    /// The conv plus a per-sample, per-channel shift `sampleBias[n, outChannels]`, added in the
    /// conv's output pass (same values as `addSampleChannel` after the conv).
    public func callAsFunction(_ x: Var, sampleBias: Var, _ p: Parameters) -> Var {
        conv2d(x, weight: p["\(key).weight"], bias: p["\(key).bias"], sampleBias: sampleBias,
               stride: stride, padding: padding)
    }
    /// `residual + conv(x)`, the sum formed in the conv's output pass (same values as a separate `+`).
    public func callAsFunction(_ x: Var, residual: Var, _ p: Parameters) -> Var {
        conv2d(x, weight: p["\(key).weight"], bias: p["\(key).bias"], residual: residual,
               stride: stride, padding: padding)
    }
    /// A 1x1 conv of the channel concatenation of `parts`, read in place (no concatenated copy).
    public func callAsFunction(parts: [Var], _ p: Parameters) -> Var {
        precondition(kernel == 1 && stride == 1 && padding == 0, "Conv2d \(key): channel parts need a 1x1 conv")
        return conv2d(parts: parts, weight: p["\(key).weight"], bias: p["\(key).bias"])
    }
}

/// PyTorch `nn.GroupNorm(groups, channels, eps=1e-5)` with affine weight (ones) and bias (zeros).
public struct GroupNorm: Layer, Sendable {
    public let key: String, groups: Int, channels: Int, eps: Float
    public init(_ key: String, groups: Int, channels: Int, eps: Float = 1e-5) {
        precondition(channels % groups == 0, "GroupNorm \(key): \(channels) channels not divisible by \(groups) groups")
        (self.key, self.groups, self.channels, self.eps) = (key, groups, channels, eps)
    }
    public var parameterSpecs: [ParameterSpec] {
        [.init("\(key).weight", [channels], .ones), .init("\(key).bias", [channels], .zeros)]
    }
    /// The norm of the channel concatenation of `parts`, read in place (no concatenated copy).
    public func callAsFunction(parts: [Var], _ p: Parameters, silu: Bool = false) -> Var {
        groupNorm(parts: parts, groups: groups, weight: p["\(key).weight"], bias: p["\(key).bias"], eps: eps, silu: silu)
    }
    /// GroupNorm(x), or SiLU(GroupNorm(x)) as one fused op when `silu`.
    public func callAsFunction(_ x: Var, _ p: Parameters, silu: Bool = false) -> Var {
        groupNorm(x, groups: groups, weight: p["\(key).weight"], bias: p["\(key).bias"], eps: eps, silu: silu)
    }
}

/// PyTorch `nn.Embedding(count, dim)`: weight [count, dim], N(0, 1) init.
public struct Embedding: Layer, Sendable {
    public let key: String, count: Int, dim: Int
    public init(_ key: String, count: Int, dim: Int) { (self.key, self.count, self.dim) = (key, count, dim) }
    public var parameterSpecs: [ParameterSpec] { [.init("\(key).weight", [count, dim], .normal)] }
    public func callAsFunction(_ indices: [Int], _ p: Parameters) -> Var { embedding(p["\(key).weight"], indices: indices) }
}
