import ArgumentParser
import Datasets
import Eval
import Foundation
import NN
import Store
import TensorCore
import Train
import ToolSupport

/// The reference images of an evaluation and the feature network that measures them.
struct EvalReference {
    let data: ImageDataset
    let extractor: FeatureExtractor
    let featureName: String

    /// `--data`/`--split` if given, else the test split (where the format has one) of the dataset the
    /// samples were made from, else MNIST test; the samples' shape must be the reference's.
    static func choose(for record: DatasetRecord?, shape: [Int], what: String, data: DataOptions, features: String?,
                       store: ArtifactStore?, log: (String) -> Void) throws -> EvalReference {
        let refData: ImageDataset
        if data.spec != nil {
            refData = try data.load(defaultSplit: .test)
        } else if let record {
            let spec = try DatasetSpec(parsing: record.spec)
            refData = try spec.load(split: data.split ?? (spec.hasSplits() ? .test : nil))
        } else {
            refData = try ImageDataset.mnist(data.split ?? .test)
        }
        log("fs-eval: reference \(refData.summary)")
        guard shape.count == 4, Array(shape.dropFirst()) == refData.geometry.sampleShape else {
            throw ToolError.badInput("\(what): samples are \(Array(shape.dropFirst())), the reference \(refData.record.spec) is \(refData.geometry)")
        }
        let (fx, name) = try FeatureChoice.extractor(for: refData.record, features: features, store: store, log: log)
        return EvalReference(data: refData, extractor: fx, featureName: name)
    }

    /// The reference features, cached in the store as a feature_stats artifact.
    func features(store: ArtifactStore?, log: (String) -> Void) throws -> ReferenceFeatures {
        try ReferenceFeatures.load(data, extractor: extractor, cached: { name in
            guard let store, let a = try? store.resolve(name, kind: ArtifactKind.featureStats),
                  let f = try store.loadBlobs(a).first(where: { $0.name == "features" }) else { return nil }
            return try f.tensor(file: store.path)
        }, keep: { name, features, metadata in
            _ = try store?.putArtifact(kind: ArtifactKind.featureStats, name: name,
                                       tensors: [SafetensorsEntry(name: "features", tensor: features)], metadata: metadata)
        }, log: log)
    }
}

/// A stored sample_set artifact: its images (model space), labels and the dataset it was made from.
struct EvalSampleSet {
    let artifact: ArtifactRecord
    let images: Tensor
    let labels: [Int]
    let dataset: DatasetRecord?
    /// How fs-sample integrated the set (its metadata's sigmas, guidance and solver); nil for a set that
    /// records none, so its rows show no NFE rather than a guess.
    let plan: SamplingPlan?

    static func load(_ ref: String, store: ArtifactStore) throws -> EvalSampleSet {
        let a = try store.resolve(ref, kind: ArtifactKind.sampleSet)
        let blobs = try store.loadBlobs(a)
        guard let s = blobs.first(where: { $0.name == "samples" }), let l = blobs.first(where: { $0.name == "labels" }) else {
            throw ToolError.badInput("\(store.path): sample set '\(a.name)' has no samples/labels tensors")
        }
        let images = try s.tensor(file: store.path)
        let meta = try? OrderedJSON.parse(a.metadata)
        let made = try? JSONDecoder().decode(DatasetRecord.self, from: Data((meta?["data"]?.serialized ?? "").utf8))
        guard images.isFinite else {
            throw ToolError.badInput("\(store.path): sample set '\(a.name)' holds NaN or infinite samples (made by a diverged model)")
        }
        let labels = l.integers()
        guard labels.count == images.shape[0] else {
            throw ToolError.badInput("\(store.path): sample set '\(a.name)' has \(labels.count) labels for \(images.shape[0]) samples")
        }
        return EvalSampleSet(artifact: a, images: images, labels: labels, dataset: made,
                             plan: meta.flatMap { SamplingPlan(recorded: $0) })
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
