import ArgumentParser
import Datasets
import Eval
import NN
import Store
import TensorCore


/// Features of a reference set (for FID statistics and KID), cached in the store under a name that
/// includes the feature network's checksum, so a changed network never meets old features.
struct Reference {
    let stats: GaussianStatistics
    let features: Tensor

    static func features(of data: ImageDataset, extractor: FeatureExtractor, store: ArtifactStore?,
                         log: (String) -> Void) throws -> Reference {
        let name = "reference-\(data.record.sha256.prefix(16))-features-\(extractor.checksum.prefix(16))"
        if let store, let a = try? store.resolve(name, kind: ArtifactKind.featureStats),
           let f = try store.loadBlobs(a).first(where: { $0.name == "features" }) {
            let features = try f.tensor(file: store.path)
            return Reference(stats: try GaussianStatistics(features: features), features: features)
        }
        log("fs-eval: computing \(data.record.spec) reference features (cached in the store afterwards)")
        let (features, _) = try extractor(data.images)
        if let store {
            _ = try store.putArtifact(kind: ArtifactKind.featureStats, name: name,
                                      tensors: [SafetensorsEntry(name: "features", tensor: features)],
                                      metadata: "{\"feature_network\":\"\(extractor.checksum)\",\"data\":\(data.record.json)}")
        }
        return Reference(stats: try GaussianStatistics(features: features), features: features)
    }
}

extension SafetensorsEntry {
    /// Integer values of an I64 (or F32) entry, e.g. labels.
    func integers() -> [Int] {
        switch dtype {
        case .I64:
            return bytes.withUnsafeBytes { raw in
                (0..<(bytes.count / 8)).map { Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self))) }
            }
        default:
            return ((try? tensor()) ?? Tensor(zeros: [0])).data.map { Int($0) }
        }
    }
}
