import Foundation

/// The DiT backbone's hyper-parameters (facebookresearch/DiT `DiT(...)` arguments), serialised as
/// `{"model": "dit", "input_size": 28, "patch_size": 2, "in_channels": 1, "hidden_size": 192, "depth": 6,
/// "num_heads": 3, "mlp_ratio": 4.0, "num_classes": 10, "class_dropout_prob": 0.1, "learn_sigma": false}`.
///
/// `learn_sigma` is always false here: the output has `in_channels` channels, the velocity.
/// `class_dropout_prob` only records the training recipe (the trainer drops labels to the null label
/// `num_classes`); the embedding table always has the null row, as the reference's does when it is > 0.
public struct DiTConfig: Codable, Equatable, Sendable {
    public var inputSize: Int
    public var patchSize: Int
    public var inChannels: Int
    public var hiddenSize: Int
    public var depth: Int
    public var numHeads: Int
    public var mlpRatio: Double
    public var numClasses: Int
    public var classDropoutProb: Double
    public var learnSigma: Bool { false }

    public init(inputSize: Int = 28, patchSize: Int = 2, inChannels: Int = 1, hiddenSize: Int = 192, depth: Int = 6,
                numHeads: Int = 3, mlpRatio: Double = 4, numClasses: Int = 10, classDropoutProb: Double = 0.1) {
        (self.inputSize, self.patchSize, self.inChannels, self.hiddenSize) = (inputSize, patchSize, inChannels, hiddenSize)
        (self.depth, self.numHeads, self.mlpRatio, self.numClasses) = (depth, numHeads, mlpRatio, numClasses)
        self.classDropoutProb = classDropoutProb
    }

    enum CodingKeys: String, CodingKey {
        case model, inputSize = "input_size", patchSize = "patch_size", inChannels = "in_channels"
        case hiddenSize = "hidden_size", depth, numHeads = "num_heads", mlpRatio = "mlp_ratio"
        case numClasses = "num_classes", classDropoutProb = "class_dropout_prob", learnSigma = "learn_sigma"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let model = try c.decode(String.self, forKey: .model)
        guard model == "dit" else {
            throw DecodingError.dataCorruptedError(forKey: .model, in: c, debugDescription: "model is '\(model)', expected 'dit'")
        }
        if try c.decodeIfPresent(Bool.self, forKey: .learnSigma) == true {
            throw DecodingError.dataCorruptedError(forKey: .learnSigma, in: c,
                                                   debugDescription: "learn_sigma must be false (the output is the velocity)")
        }
        self.init(inputSize: try c.decode(Int.self, forKey: .inputSize), patchSize: try c.decode(Int.self, forKey: .patchSize),
                  inChannels: try c.decode(Int.self, forKey: .inChannels), hiddenSize: try c.decode(Int.self, forKey: .hiddenSize),
                  depth: try c.decode(Int.self, forKey: .depth), numHeads: try c.decode(Int.self, forKey: .numHeads),
                  mlpRatio: try c.decodeIfPresent(Double.self, forKey: .mlpRatio) ?? 4,
                  numClasses: try c.decode(Int.self, forKey: .numClasses),
                  classDropoutProb: try c.decodeIfPresent(Double.self, forKey: .classDropoutProb) ?? 0.1)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode("dit", forKey: .model)
        try c.encode(inputSize, forKey: .inputSize); try c.encode(patchSize, forKey: .patchSize)
        try c.encode(inChannels, forKey: .inChannels); try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(depth, forKey: .depth); try c.encode(numHeads, forKey: .numHeads)
        try c.encode(mlpRatio, forKey: .mlpRatio); try c.encode(numClasses, forKey: .numClasses)
        try c.encode(classDropoutProb, forKey: .classDropoutProb); try c.encode(false, forKey: .learnSigma)
    }

    /// The null (unconditional) label: row `num_classes` of the embedding table.
    public var nullLabel: Int { numClasses }
    /// Patches per side and tokens per image.
    public var gridSize: Int { inputSize / patchSize }
    public var tokens: Int { gridSize * gridSize }
    /// Width of the MLP's hidden layer: int(hidden_size * mlp_ratio), as the reference computes it.
    public var mlpHidden: Int { Int(Double(hiddenSize) * mlpRatio) }

    /// Throws unless the geometry is consistent (patches tile the input, heads divide the width, even widths
    /// for the sin-cos position embedding).
    public func validate() throws {
        func fail(_ m: String) -> DecodingError { .dataCorrupted(.init(codingPath: [], debugDescription: "DiT config: \(m)")) }
        guard inputSize > 0, patchSize > 0, inputSize % patchSize == 0 else { throw fail("patch_size \(patchSize) must divide input_size \(inputSize)") }
        guard hiddenSize > 0, numHeads > 0, hiddenSize % numHeads == 0 else { throw fail("num_heads \(numHeads) must divide hidden_size \(hiddenSize)") }
        guard hiddenSize % 4 == 0 else { throw fail("hidden_size \(hiddenSize) must be a multiple of 4 (2-D sin-cos position embedding)") }
        guard depth >= 1, inChannels > 0, numClasses >= 0, mlpHidden > 0 else {
            throw fail("depth, in_channels and mlp width must be positive and num_classes >= 0 (0: unconditional)")
        }
    }

    /// Compact JSON with sorted keys, e.g. {"class_dropout_prob":0.1,"depth":6,...,"model":"dit",...}.
    public var json: String {
        let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
        return String(decoding: try! enc.encode(self), as: UTF8.self)
    }

    public static func fromJSON(_ text: String) throws -> DiTConfig {
        try JSONDecoder().decode(DiTConfig.self, from: Data(text.utf8))
    }
}
