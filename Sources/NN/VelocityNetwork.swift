import TensorCore

/// The model seam: every trainer, sampler, rollout and discriminator uses a velocity network through
/// this protocol, never a concrete backbone. A backbone is one file in NN that conforms (plus a case of
/// `ModelConfig` and a preset); `UNet` and `DiT` do.
///
/// v = f(x, sigma, label): x [n, C, H, W] at noise level sigma (fed as t = 1000 sigma), labels
/// 0..<numClasses or the null label `numClasses` (classifier-free guidance); the output is the velocity
/// eps - x0 with the shape of x. Parameters carry PyTorch state-dict names (`Layer.parameterSpecs`,
/// `initialParameters(seed:)`).
///
/// The existential costs one dynamic call per forward pass; everything inside a backbone is concrete.
public protocol VelocityNetwork: Layer, Sendable {
    /// The constructor arguments (a checkpoint's `config`).
    var modelConfig: ModelConfig { get }
    /// Real classes (0: unconditional); label `numClasses` is the null label.
    var numClasses: Int { get }
    /// Channels of x and of the velocity.
    var inChannels: Int { get }
    /// State-dict keys that hold fixed buffers (DiT: `pos_embed`): trainers leave them unchanged.
    var frozenKeys: Set<String> { get }

    /// Throws `NetworkInputError` unless the network accepts images of this geometry.
    func checkInput(channels: Int, height: Int, width: Int) throws

    /// The velocity v(x, sigma, label) on the tape, shape of x.
    func callAsFunction(_ x: Var, sigmas: [Float], labels: [Int], _ p: Parameters) -> Var

    /// The features a discriminator builds on, shallow to deep (UNet: every down block and the middle
    /// block, [n, C, h, w]; DiT: the tokens after each of the first `blocks` blocks, [n, T, D]).
    /// `blocks` nil takes the backbone's default depth (`defaultEncoderBlocks`).
    func encoderFeatures(_ x: Var, sigmas: [Float], labels: [Int], blocks: Int?, _ p: Parameters) -> [Var]
    /// The state-dict keys `encoderFeatures(blocks:)` reads, in registration order.
    func isEncoderKey(_ key: String, blocks: Int?) -> Bool
    /// The layout of each feature `encoderFeatures(blocks:)` returns, shallow to deep: what a head on it
    /// is built for.
    func encoderFeatureLayouts(blocks: Int?) -> [FeatureLayout]
    /// How many blocks the encoder may use (1...maxEncoderBlocks); nil when the depth is fixed (UNet).
    var maxEncoderBlocks: Int? { get }
    /// The last feature pooled to one vector per sample ([n, width]), what a discriminator head reads.
    func pooledFeature(_ last: Var) -> Var
    /// The width of `pooledFeature`.
    var featureWidth: Int { get }
    /// True when a forward's arithmetic for one sample is the same in a batch of 1...8 samples, so
    /// `VelocityModel` may evaluate a partial group without padding samples. Default false.
    var rowsIndependentOfCount: Bool { get }
}

extension VelocityNetwork {
    /// The null (unconditional) label.
    public var nullLabel: Int { numClasses }
    public var frozenKeys: Set<String> { [] }
    public var rowsIndependentOfCount: Bool { false }

    /// One plain forward pass without gradients.
    public func forward(_ x: Tensor, sigmas: [Float], labels: [Int], weights: StateDict) -> Tensor {
        let tape = Tape(recordsPullbacks: false)
        return self(tape.constant(x), sigmas: sigmas, labels: labels, tape.bind(weights, trainable: false)).value
    }
}

/// One encoder feature's layout (`VelocityNetwork.encoderFeatureLayouts`).
public enum FeatureLayout: Equatable, Sendable {
    /// Maps [n, C, h, w] (the UNet's).
    case maps(channels: Int)
    /// Tokens [n, T, D] (the DiT's).
    case tokens(width: Int)
}

/// An input geometry the network cannot take, with the reason (bad input, exit 3 in the tools).
public struct NetworkInputError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
