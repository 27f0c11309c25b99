import Datasets
import Foundation
import NN
import TensorCore

/// Features of a reference set (FID statistics and KID need them), with caching left to the caller:
/// Eval never imports Store, so a tool passes closures that look a cached tensor up by name and keep a
/// new one. The name includes the dataset's SHA-256 and the feature network's checksum, so a changed
/// network or dataset never meets old features.
public struct ReferenceFeatures: Sendable {
    public let stats: GaussianStatistics
    public let features: Tensor

    public init(features: Tensor) throws {
        self.features = features
        stats = try GaussianStatistics(features: features)
    }

    /// The cache key of `data` measured by `extractor`.
    public static func cacheName(_ data: DatasetRecord, extractor: FeatureExtractor) -> String {
        "reference-\(data.sha256.prefix(16))-features-\(extractor.checksum.prefix(16))"
    }

    /// Cached features if `cached(name)` has them, else computed and handed to `keep(name, features,
    /// metadata JSON)`.
    public static func load(_ data: ImageDataset, extractor: FeatureExtractor,
                            cached: (String) throws -> Tensor?, keep: (String, Tensor, String) throws -> Void,
                            log: (String) -> Void = { _ in }) throws -> ReferenceFeatures {
        let name = cacheName(data.record, extractor: extractor)
        if let f = try cached(name) { return try ReferenceFeatures(features: f) }
        log("fs-eval: computing \(data.record.spec) reference features (cached in the store afterwards)")
        let (features, _) = try extractor(data.images)
        try keep(name, features, "{\"feature_network\":\"\(extractor.checksum)\",\"data\":\(data.record.json)}")
        return try ReferenceFeatures(features: features)
    }
}
