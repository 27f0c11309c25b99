import Datasets
import Eval
import Foundation
import NN
import Store
import ToolSupport

/// Which feature network measures images of a dataset: `--features REF` if given (`mnist` or
/// `fashion-mnist` for the embedded ones, a .safetensors file written by `featnet train --output`, or
/// a feature_network artifact, or `inception:FILE` for standard FID with pytorch-fid's Inception
/// weights converted to safetensors), else the newest
/// feature_network artifact in the store that serves the dataset (same SHA-256, or another split of
/// the same named dataset), else the one embedded for it (MNIST, Fashion-MNIST). Otherwise an error
/// that says how to train one.
enum FeatureChoice {
    static let kind = "feature_network"
    static let inceptionPrefix = "inception:"

    static func extractor(for record: DatasetRecord?, features: String?, store: ArtifactStore?,
                          log: (String) -> Void) throws -> (FeatureExtractor, String) {
        if let features {
            if features.hasPrefix(Self.inceptionPrefix) {
                let path = String(features.dropFirst(Self.inceptionPrefix.count))
                let fx: FeatureExtractor
                do { fx = FeatureExtractor(inception: try InceptionFeatures.read(path: path)) } catch let e as EvalError {
                    throw ToolError.badInput("--features \(features): \(e)")
                }
                log("fs-eval: pytorch-fid Inception pool3 from \(path) (weights \(fx.checksum.prefix(16)))")
                return (fx, "inception:\((path as NSString).lastPathComponent)")
            }
            if let known = KnownIDX(rawValue: features) {
                // The network embedded for a named dataset, whatever the images' own record says.
                let any = DatasetRecord(spec: known.rawValue, split: nil, sha256: "", setSHA256: nil, geometry: .mnist, count: 0, classes: 10)
                guard let fx = try FeatureExtractor.embedded(for: any) else {
                    throw ToolError.badInput("--features \(features): no network for it ships in this build; train one with fs-eval featnet train")
                }
                return (fx, "embedded:\(known.rawValue)")
            }
            if features.hasSuffix(".safetensors") {
                let (fx, m) = try FeatureExtractor.read(path: features)
                try check(m, serves: record, what: features)
                return (fx, features)
            }
            guard let store else { throw ToolError.usage("--features \(features): not a .safetensors file and no store to resolve it in") }
            let a = try store.resolve(features, kind: kind)
            let (fx, m) = try load(a, store: store)
            try check(m, serves: record, what: a.name)
            return (fx, a.name)
        }
        if let record, let store {
            let candidates = try store.artifacts(kind: kind).reversed()
            for a in candidates {
                guard let m = try? FeatureNetworkManifest.fromJSON(a.metadata, source: a.name), m.serves(record) else { continue }
                log("fs-eval: feature network '\(a.name)' (trained on \(m.dataset.spec), accuracy \(m.accuracy.map { String(format: "%.4f", $0) } ?? "?"))")
                return (try load(a, store: store).0, a.name)
            }
        }
        if let fx = try FeatureExtractor.embedded(for: record) { return (fx, "embedded:\(record?.spec ?? "mnist")") }
        throw ToolError.badInput("no feature network for \(record?.spec ?? "?") (\(record.map { "\($0.geometry), \($0.classes) classes" } ?? "")): "
                                 + "train one with `fs-eval featnet train --data \(record?.spec ?? "SPEC")`, or give --features")
    }

    static func load(_ a: ArtifactRecord, store: ArtifactStore) throws -> (FeatureExtractor, FeatureNetworkManifest) {
        let m = try FeatureNetworkManifest.fromJSON(a.metadata, source: "\(store.path): \(a.name)")
        return (try FeatureExtractor(weights: try store.loadStateDict(a), config: m.config), m)
    }

    /// An explicitly chosen network must at least take the images' geometry.
    static func check(_ m: FeatureNetworkManifest, serves record: DatasetRecord?, what: String) throws {
        guard let record else { return }
        let g = record.geometry
        guard m.config.inputShape == g.sampleShape else {
            throw ToolError.badInput("feature network \(what) takes \(m.config.inputShape), but \(record.spec) images are \(g)")
        }
    }
}
