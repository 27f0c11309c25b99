import ArgumentParser
import Datasets
import Eval
import Foundation
import Store
import TensorCore
import ToolSupport

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Feature statistics (mu [D], sigma [D,D], F64) of a dataset or a sample set, as safetensors.",
        discussion: """
        Examples:
          fs-eval stats --data mnist --split test --save-stats test.safetensors
          fs-eval stats --data digits.zip --save-stats zip.safetensors
        """)
    @OptionGroup var common: CommonOptions
    @OptionGroup var data: DataOptions
    @Option(help: "A sample_set artifact (instead of --data).") var samples: String?
    @Option(help: "Feature network: mnist | fashion-mnist (embedded), a .safetensors file, a feature_network artifact, or inception:FILE (pytorch-fid weights, docs/eval.md) (default: the dataset's).") var features: String?
    @Option(help: "Use only images [A, B) of the set, e.g. 0,5000 (for noise floors between halves).") var range: String?
    @Option(help: "Output file.") var saveStats: String

    func validate() throws {
        guard (data.spec == nil) != (samples == nil) else { throw ValidationError("give exactly one of --data or --samples") }
    }

    func run() throws {
        common.applyThreads()
        try OutputPath.check("--save-stats", saveStats)
        var images: Tensor
        let extractor: FeatureExtractor
        if data.spec != nil {
            let set = try data.load(defaultSplit: .test)
            common.log("data: \(set.summary)")
            let store = FileManager.default.fileExists(atPath: common.storePath) ? try common.openExistingStore() : nil
            extractor = try FeatureChoice.extractor(for: set.record, features: features, store: store, log: common.log).0
            images = set.images
        } else {
            let store = try common.openExistingStore()
            extractor = try features.map { try FeatureChoice.extractor(for: nil, features: $0, store: store, log: common.log).0 }
                ?? FeatureExtractor.embedded()
            let a = try store.resolve(samples!, kind: ArtifactKind.sampleSet)
            guard let s = try store.loadBlobs(a).first(where: { $0.name == "samples" }) else {
                throw ToolError.badInput("\(store.path): sample set '\(a.name)' has no samples tensor")
            }
            images = try s.tensor(file: store.path).map { min(1, max(-1, $0)) }
        }
        if let range {
            let p = range.split(separator: ",").compactMap { Int($0) }
            guard p.count == 2, p[0] >= 0, p[0] < p[1], p[1] <= images.shape[0] else {
                throw ToolError.usage("--range '\(range)': expected A,B with 0 <= A < B <= \(images.shape[0])")
            }
            images = images.slice(p[0]..<p[1])
        }
        let stats = try extractor.statistics(images)
        try stats.write(to: saveStats, featureNetwork: extractor.checksum)
        try common.emit(["file": saveStats, "count": stats.count, "dimension": stats.dimension,
                         "feature_network": extractor.checksum], human: "wrote \(saveStats) (\(stats.count) images)")
    }
}

struct FD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fd", abstract: "Fréchet distance between two statistics files.",
        discussion: "Example: fs-eval fd a.safetensors b.safetensors --json")
    @OptionGroup var common: CommonOptions
    @Argument(help: "First statistics file.") var a: String
    @Argument(help: "Second statistics file.") var b: String

    func run() throws {
        let sa = try GaussianStatistics(path: a), sb = try GaussianStatistics(path: b)
        let fid = try frechetDistance(sa, sb)
        try common.emit(["fid": fid], human: String(format: "%.6f", fid))
    }
}

struct Accuracy: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A feature network's own classification accuracy on a labelled dataset (default MNIST test).",
        discussion: """
        Examples:
          fs-eval accuracy --data mnist --split test --json
          fs-eval accuracy --data fashion-mnist --split test --json
        """)
    @OptionGroup var common: CommonOptions
    @OptionGroup var data: DataOptions
    @Option(help: "Feature network: mnist | fashion-mnist (embedded), a .safetensors file, a feature_network artifact, or inception:FILE (pytorch-fid weights, docs/eval.md) (default: the dataset's).") var features: String?

    func run() throws {
        common.applyThreads()
        let set = try data.load(defaultSplit: .test)
        guard set.isLabelled else { throw ToolError.badInput("\(set.summary): accuracy needs labels") }
        let store = FileManager.default.fileExists(atPath: common.storePath) ? try common.openExistingStore() : nil
        let (fx, which) = try FeatureChoice.extractor(for: set.record, features: features, store: store, log: common.log)
        guard fx.classes > 0 else { throw ToolError.badInput("--features \(which): no class logits (Inception features are for FID/KID only)") }
        let (_, logits) = try fx(set.images)
        let acc = try classAccuracy(logits: logits, labels: set.labels)
        try common.emit(["accuracy": acc, "dataset": set.record.spec, "split": set.split?.rawValue ?? NSNull(), "count": set.count,
                         "feature_network": which, "dataset_sha256": set.record.sha256],
                        human: String(format: "accuracy %.4f on %@ (%d images; feature network %@)", acc, set.summary, set.count, which))
    }
}
