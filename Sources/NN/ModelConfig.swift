import Foundation

/// Which velocity network and its constructor arguments: the `config` JSON of every checkpoint, tagged by
/// `"model"` (`"unet"` or `"dit"`); the payload keys are the constructor arguments a PyTorch user sees
/// (`UNetConfig`'s and `DiTConfig`'s keys). JSON without `"model"` (checkpoints made before the DiT) is a UNet.
///
/// A new backbone adds one case here, one conforming file in NN and a preset (docs/design.md).
public enum ModelConfig: Codable, Equatable, Sendable {
    case unet(UNetConfig)
    case dit(DiTConfig)

    /// The `"model"` tag.
    public var kind: String {
        switch self {
        case .unet: return "unet"
        case .dit: return "dit"
        }
    }

    public static let kinds = ["unet", "dit"]

    /// The network these arguments construct (after `validate()`).
    public func makeNetwork() -> any VelocityNetwork {
        switch self {
        case .unet(let c): return UNet(c)
        case .dit(let c): return DiT(c)
        }
    }

    /// Throws unless the arguments make a network (positive widths, divisibility).
    public func validate() throws {
        switch self {
        case .unet(let c): try c.validate()
        case .dit(let c): try c.validate()
        }
    }

    public var numClasses: Int {
        switch self {
        case .unet(let c): return c.numClasses
        case .dit(let c): return c.numClasses
        }
    }

    public var inChannels: Int {
        switch self {
        case .unet(let c): return c.inChannels
        case .dit(let c): return c.inChannels
        }
    }

    public var nullLabel: Int { numClasses }

    /// [C, H, W] for checkpoints that record no dataset: MNIST's 28x28 for the UNet (which takes any size
    /// its downsampling divides), the DiT's own input_size.
    public var defaultSampleShape: [Int] {
        switch self {
        case .unet(let c): return [c.inChannels, 28, 28]
        case .dit(let c): return [c.inChannels, c.inputSize, c.inputSize]
        }
    }

    /// The arguments fitted to a dataset: its channels and classes (and, for the DiT, its size).
    /// Throws `NetworkInputError` when the backbone cannot take the images.
    public func fitted(channels: Int, height: Int, width: Int, classes: Int) throws -> ModelConfig {
        switch self {
        case .unet(var c):
            c.inChannels = channels; c.numClasses = classes
            try UNet(c).checkInput(channels: channels, height: height, width: width)
            return .unet(c)
        case .dit(var c):
            guard height == width else {
                throw NetworkInputError("images are \(height)x\(width), but the DiT takes square images (input_size)")
            }
            c.inChannels = channels; c.numClasses = classes; c.inputSize = height
            guard height % c.patchSize == 0 else {
                throw NetworkInputError("images are \(height)x\(width), but patch_size \(c.patchSize) does not divide "
                                        + "\(height) (choose another --patch-size)")
            }
            do { try c.validate() } catch { throw NetworkInputError(Self.reason(error)) }
            return .dit(c)
        }
    }

    /// A validation error's message without DecodingError's wrapping.
    public static func reason(_ error: Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error { return context.debugDescription }
        return "\(error)"
    }

    enum TagKey: String, CodingKey { case model }

    public init(from decoder: Decoder) throws {
        let tag = try decoder.container(keyedBy: TagKey.self).decodeIfPresent(String.self, forKey: .model) ?? "unet"
        switch tag {
        case "unet": self = .unet(try UNetConfig(from: decoder))
        case "dit": self = .dit(try DiTConfig(from: decoder))
        default:
            throw DecodingError.dataCorrupted(.init(codingPath: [TagKey.model],
                                                    debugDescription: "model '\(tag)' is not one of \(Self.kinds)"))
        }
    }

    public func encode(to encoder: Encoder) throws {
        switch self {
        case .unet(let c):
            try c.encode(to: encoder)
            var tag = encoder.container(keyedBy: TagKey.self)
            try tag.encode("unet", forKey: .model)
        case .dit(let c): try c.encode(to: encoder)  // writes "model": "dit" itself
        }
    }

    /// Compact JSON with sorted keys (a checkpoint's `config`).
    public var json: String {
        let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
        return String(decoding: try! enc.encode(self), as: UTF8.self)
    }

    public static func fromJSON(_ text: String) throws -> ModelConfig {
        try JSONDecoder().decode(ModelConfig.self, from: Data(text.utf8))
    }
}
