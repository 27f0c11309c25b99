import Datasets
import Foundation
import NN

/// The feature network shipped inside the product (Sources/Eval/Resources/feature_network.safetensors),
/// trained by `FeatureNetworkTraining` with the default config (docs/eval.md: 4 epochs, 99.16% MNIST
/// test accuracy). It is loaded from the package's resource bundle, never downloaded.
extension FeatureExtractor {
    /// Checksum (`FeatureExtractor.checksum(of:)`) of the embedded weights. Loading verifies it, so a
    /// damaged or swapped resource fails loudly instead of silently changing every FID; it is also
    /// the key of cached reference statistics.
    public static let embeddedChecksum = "d9a541ede9aabc03786cf4f1c5b6fd9bd0b8848ae931eb16c19e20f3ef0d81a7"

    /// Path of the embedded weights file (`EmbeddedResources`: the resource bundle beside the tools).
    public static func embeddedWeightsPath() throws -> String {
        try EmbeddedResources.path("feature_network.safetensors")
    }

    /// The embedded feature network, checksum-verified.
    public static func embedded() throws -> FeatureExtractor {
        let path = try embeddedWeightsPath()
        let fx = try FeatureExtractor(weights: Safetensors.readStateDict(path: path).0)
        guard fx.checksum == embeddedChecksum else {
            throw EvalError.badFeatureNetwork(reason: "\(path) has checksum \(fx.checksum), expected \(embeddedChecksum)")
        }
        return fx
    }
}

extension FeatureExtractor {
    /// Feature networks that ship inside the product beyond MNIST's: resource name and checksum, by
    /// dataset spec. Each resource is a file written by `fs-eval featnet train --output` (its manifest
    /// records the dataset), so the same selection rule (`FeatureNetworkManifest.serves`) applies.
    /// Fashion-MNIST: `fs-eval featnet train --data fashion-mnist --epochs 8 --threads 1` at commit
    /// ef4ca91 (2026-12-05), test accuracy 0.9214 (docs/eval.md).
    static let embeddedByDataset: [String: (resource: String, checksum: String)] = [
        "fashion-mnist": ("feature_network_fashion_mnist", "c63580185e54745ced7caa619ff510842e45008ddfeeb8896ea7acdba9bb8ccd"),
    ]

    /// The embedded network for images of `record` (nil record: a model made before datasets were
    /// recorded, i.e. MNIST), or nil when none ships for that dataset.
    public static func embedded(for record: DatasetRecord?) throws -> FeatureExtractor? {
        guard let record else { return try embedded() }
        guard let known = KnownIDX.identify(record) else { return nil }
        if known == .mnist { return try embedded() }
        guard let entry = embeddedByDataset[known.rawValue] else { return nil }
        let path = try EmbeddedResources.path(entry.resource + ".safetensors")
        let (fx, manifest) = try read(path: path)
        guard fx.checksum == entry.checksum else {
            throw EvalError.badFeatureNetwork(reason: "\(path) has checksum \(fx.checksum), expected \(entry.checksum)")
        }
        return manifest.config.inputShape == record.geometry.sampleShape ? fx : nil
    }
}
