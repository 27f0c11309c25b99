import ArgumentParser
import Datasets
import Eval
import Foundation
import Store
import TensorCore
import ToolSupport

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Feature statistics (mu [D], sigma [D,D], F64) of MNIST or a sample set, as safetensors.",
        discussion: "Example: fs-eval stats --mnist test --save-stats test.safetensors")
    @OptionGroup var common: CommonOptions
    @Option(help: "MNIST split (test or train).") var mnist: MNISTSplit?
    @Option(help: "A sample_set artifact.") var samples: String?
    @Option(help: "Use only images [A, B) of the set, e.g. 0,5000 (for noise floors between halves).") var range: String?
    @Option(help: "Output file.") var saveStats: String

    func validate() throws {
        guard (mnist == nil) != (samples == nil) else { throw ValidationError("give exactly one of --mnist or --samples") }
    }

    func run() throws {
        common.applyThreads()
        try OutputPath.check("--save-stats", saveStats)
        let extractor = try FeatureExtractor.embedded()
        var images: Tensor
        if let mnist { images = try MNIST.load(mnist).images } else {
            let store = try common.openExistingStore()
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
        abstract: "The embedded feature network's own classification accuracy on MNIST.",
        discussion: "Example: fs-eval accuracy --mnist test --json")
    @OptionGroup var common: CommonOptions
    @Option(help: "MNIST split (test or train).") var mnist: MNISTSplit = .test

    func run() throws {
        common.applyThreads()
        let data = try MNIST.load(mnist)
        let (_, logits) = try FeatureExtractor.embedded()(data.images)
        let acc = try classAccuracy(logits: logits, labels: data.labels)
        try common.emit(["accuracy": acc, "split": mnist.rawValue, "count": data.count],
                        human: String(format: "accuracy %.4f on MNIST %@ (%d images)", acc, mnist.rawValue, data.count))
    }
}
