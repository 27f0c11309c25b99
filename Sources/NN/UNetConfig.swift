import Foundation

/// The velocity UNet's hyper-parameters. Serialised into every checkpoint's `config` JSON.
public struct UNetConfig: Codable, Equatable, Sendable {
    /// Channels per resolution level: [c0, c1, ...]; level i > 0 halves the resolution.
    public var channels: [Int]
    /// Width of the time/class embedding.
    public var embedDim: Int = 128
    /// Width of the sinusoidal time features fed to `time_embed.0`.
    public var timeFeatures: Int = 64
    /// Real classes; index `numClasses` is the null label used for classifier-free guidance.
    public var numClasses: Int = 10
    public var groups: Int = 8
    public var inChannels: Int = 1

    public init(channels: [Int], embedDim: Int = 128) {
        self.channels = channels
        self.embedDim = embedDim
    }

    enum CodingKeys: String, CodingKey {
        case channels, embedDim = "embed_dim", timeFeatures = "time_features", numClasses = "num_classes"
        case groups, inChannels = "in_channels"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        channels = try c.decode([Int].self, forKey: .channels)
        embedDim = try c.decodeIfPresent(Int.self, forKey: .embedDim) ?? 128
        timeFeatures = try c.decodeIfPresent(Int.self, forKey: .timeFeatures) ?? 64
        numClasses = try c.decodeIfPresent(Int.self, forKey: .numClasses) ?? 10
        groups = try c.decodeIfPresent(Int.self, forKey: .groups) ?? 8
        inChannels = try c.decodeIfPresent(Int.self, forKey: .inChannels) ?? 1
    }

    /// The null (unconditional) label.
    public var nullLabel: Int { numClasses }

    /// Compact JSON, e.g. {"channels":[16,32,32],"embed_dim":128,...}.
    public var json: String {
        let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
        return String(decoding: try! enc.encode(self), as: UTF8.self)
    }

    public static func fromJSON(_ text: String) throws -> UNetConfig {
        try JSONDecoder().decode(UNetConfig.self, from: Data(text.utf8))
    }
}

extension UNetConfig {
    /// Throws unless the arguments make a UNet (GroupNorm groups divide every level's channels).
    public func validate() throws {
        func fail(_ m: String) -> DecodingError { .dataCorrupted(.init(codingPath: [], debugDescription: "UNet config: \(m)")) }
        guard !channels.isEmpty, groups > 0, channels.allSatisfy({ $0 > 0 && $0 % groups == 0 }) else {
            throw fail("channels \(channels) must be positive multiples of groups \(groups)")
        }
        guard embedDim > 0, timeFeatures > 0, timeFeatures % 2 == 0 else {
            throw fail("embed_dim \(embedDim) must be positive and time_features \(timeFeatures) positive and even")
        }
        guard numClasses >= 0, inChannels > 0 else { throw fail("num_classes must be >= 0 and in_channels positive") }
    }
}
