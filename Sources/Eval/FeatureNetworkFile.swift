import Datasets
import Foundation
import NN

/// A trained feature network as a self-describing safetensors file (or store artifact): the weights
/// under PyTorch names, and in `__metadata__` the network's config, the dataset it was trained on
/// (`DatasetRecord`, whose SHA-256 selects the network for models made from that data) and its
/// held-out accuracy.
public struct FeatureNetworkManifest: Codable, Equatable, Sendable {
    public var config: FeatureNetworkConfig
    public var dataset: DatasetRecord
    /// Accuracy on the dataset's test split (or the set itself when it has no splits: `accuracySplit`).
    public var accuracy: Double?
    public var accuracySplit: String?
    public var training: FeatureNetworkTrainingConfig?

    public init(config: FeatureNetworkConfig, dataset: DatasetRecord, accuracy: Double? = nil, accuracySplit: String? = nil,
                training: FeatureNetworkTrainingConfig? = nil) {
        (self.config, self.dataset, self.accuracy, self.accuracySplit, self.training) = (config, dataset, accuracy, accuracySplit, training)
    }

    enum CodingKeys: String, CodingKey {
        case config, dataset, accuracy, accuracySplit = "accuracy_split", training
    }

    /// Compact JSON with sorted keys.
    public var json: String {
        let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
        return String(decoding: try! enc.encode(self), as: UTF8.self)
    }

    public static func fromJSON(_ text: String, source: String) throws -> FeatureNetworkManifest {
        do { return try JSONDecoder().decode(FeatureNetworkManifest.self, from: Data(text.utf8)) } catch {
            throw EvalError.badFeatureNetwork(reason: "\(source): feature_network metadata is not a manifest (\(error))")
        }
    }

    /// Whether this network is the one for `record`: trained on exactly those images, or on another
    /// split of the same named dataset (a test split is evaluated with the train split's network).
    public func serves(_ record: DatasetRecord) -> Bool {
        dataset.sha256 == record.sha256 || (dataset.setSHA256 != nil && dataset.setSHA256 == record.setSHA256)
            || (dataset.spec == record.spec && dataset.geometry == record.geometry)
    }
}

extension FeatureExtractor {
    /// Metadata key holding the manifest JSON.
    public static let manifestKey = "feature_network"

    /// The file form: weights + {"format": "pt", "feature_network": manifest JSON}.
    public func safetensors(_ manifest: FeatureNetworkManifest) -> SafetensorsFile {
        var file = SafetensorsFile(stateDict: weights)
        file.metadata = [("format", "pt"), (Self.manifestKey, manifest.json)]
        return file
    }

    /// Reads a file written by `safetensors(_:)`, checking the weights against the manifest's config.
    public static func read(path: String) throws -> (FeatureExtractor, FeatureNetworkManifest) {
        let file = try Safetensors.read(path: path)
        guard let text = file.metadataValue(manifestKey) else {
            throw EvalError.badFeatureNetwork(reason: "\(path): no '\(manifestKey)' manifest in its metadata (not written by fs-eval featnet train)")
        }
        let manifest = try FeatureNetworkManifest.fromJSON(text, source: path)
        var weights = StateDict()
        for e in file.entries { weights[e.name] = try e.tensor(file: path) }
        return (try FeatureExtractor(weights: weights, config: manifest.config), manifest)
    }
}
