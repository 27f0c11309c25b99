import Foundation
import NN
import TensorCore

/// Trained `FeatureNetwork` weights ready for inference: features for FID/KID and logits for class
/// accuracy, in batches, without recording gradients.
///
/// `checksum` identifies the weights (SHA-256 of their canonical safetensors encoding: F32 tensors in
/// PyTorch's file order, no metadata). Statistics files and cached reference statistics carry it, so
/// a retrained network can never be compared with statistics of the old one.
///
/// Or pytorch-fid's Inception (`init(inception:)`, standard FID): 2048-d features, no logits (it
/// knows ImageNet's classes, not the dataset's), any image size with 1 or 3 channels.
public struct FeatureExtractor: Sendable {
    public let network: FeatureNetwork
    /// The embedded-style network's weights (empty for Inception, whose weights `inception` holds).
    public let weights: StateDict
    public let checksum: String
    public let inception: InceptionFeatures?

    public var config: FeatureNetworkConfig { network.config }
    /// Width of a feature row: 128, or 2048 for Inception.
    public var featureDimension: Int { inception == nil ? FeatureNetwork.featureDimension : InceptionV3.featureDimension }
    /// Columns of the logits: the dataset's classes, 0 for Inception (no class accuracy then).
    public var classes: Int { inception == nil ? config.classes : 0 }

    /// Wraps weights after checking they have exactly the network's keys and shapes.
    public init(weights: StateDict, config: FeatureNetworkConfig = .mnist) throws {
        network = FeatureNetwork(config)
        try weights.validate(against: network.parameterShapes)
        var ordered = StateDict()
        for (key, _) in network.parameterShapes { ordered[key] = weights[key]! }
        self.weights = ordered
        checksum = try Self.checksum(of: ordered)
        inception = nil
    }

    /// pytorch-fid's Inception as the feature network.
    public init(inception: InceptionFeatures) {
        network = FeatureNetwork(FeatureNetworkConfig(inChannels: 3, height: InceptionV3.inputSize, width: InceptionV3.inputSize, classes: 0))
        weights = StateDict()
        checksum = inception.checksum
        self.inception = inception
    }

    /// SHA-256 (hex) of the weights' canonical safetensors bytes.
    public static func checksum(of weights: StateDict) throws -> String {
        var file = SafetensorsFile(stateDict: weights)
        file.entries = Safetensors.pythonOrder(file.entries)
        return SHA256.hex(try Safetensors.encode(file))
    }

    /// Features [N, 128] and logits [N, classes] of images [N, C, H, W] in [-1, 1].
    ///
    /// Images are processed `batchSize` at a time (bounding memory); the convolution kernels split
    /// each batch over `ComputeThreads`.
    public func callAsFunction(_ images: Tensor, batchSize: Int = 500) throws -> (features: Tensor, logits: Tensor) {
        if let inception {
            let features = try inception(images)
            return (features, Tensor(zeros: [features.shape[0], 0]))
        }
        guard images.rank == 4, Array(images.shape.dropFirst()) == config.inputShape else {
            throw EvalError.badShape(what: "images", shape: images.shape, expected: "[N, \(config.inputShape.map(String.init).joined(separator: ", "))]")
        }
        guard images.isFinite else { throw EvalError.nonFinite(what: "images") }
        let n = images.shape[0]
        var features: [Tensor] = [], logits: [Tensor] = []
        var start = 0
        while start < n {
            let end = min(n, start + max(1, batchSize))
            let tape = Tape(recordsPullbacks: false)
            let p = tape.bind(weights, trainable: false)
            let out = network(tape.constant(images.slice(start..<end)), p)
            features.append(out.features.value); logits.append(out.logits.value)
            start = end
        }
        if n == 0 {
            return (Tensor(zeros: [0, FeatureNetwork.featureDimension]), Tensor(zeros: [0, config.classes]))
        }
        return (Tensor.stack(rows: features), Tensor.stack(rows: logits))
    }

    /// Feature statistics of images, accumulated batch by batch (the features are not kept).
    public func statistics(_ images: Tensor, batchSize: Int = 500) throws -> GaussianStatistics {
        guard images.rank == 4 else {
            throw EvalError.badShape(what: "images", shape: images.shape, expected: "[N, C, H, W]")
        }
        var acc = try GaussianAccumulator(dimension: featureDimension)
        var start = 0
        while start < images.shape[0] {
            let end = min(images.shape[0], start + max(1, batchSize))
            try acc.add(self(images.slice(start..<end), batchSize: batchSize).features)
            start = end
        }
        return try acc.finish()
    }
}
