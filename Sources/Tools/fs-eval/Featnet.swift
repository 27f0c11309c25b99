import ArgumentParser
import Datasets
import Eval
import Foundation
import NN
import Store
import TensorCore
import ToolSupport

struct Featnet: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Feature networks for datasets other than MNIST.",
        subcommands: [FeatnetTrain.self])
}

/// Trains the evaluation classifier for a labelled dataset, as the embedded MNIST one was made.
struct FeatnetTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a feature network (classifier) on a labelled dataset and store it.",
        discussion: """
        Trains on the train split (or the whole set when the format has no splits), measures
        accuracy on the test split, and stores a feature_network artifact whose manifest records
        the dataset's SHA-256: every later evaluation of a model made from that dataset uses it.

        Example:
          fs-eval featnet train --store runs.db --data fashion-mnist --epochs 8 \\
            --output featnet-fashion.safetensors
        """)
    @OptionGroup var common: CommonOptions
    @OptionGroup var data: DataOptions
    @Option(help: "Epochs over the training images.") var epochs: Int = 4
    @Option(help: "Peak SGD learning rate.") var lr: Float = 0.05
    @Option(help: "Seed for initialisation and data order.") var seed: UInt64 = 0
    @Option(help: "Artifact name (default featnet-<dataset>-<sha12>).") var name: String?
    @Option(help: "Also write the network to this .safetensors file.") var output: String?

    func validate() throws {
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be a positive number, got \(lr)") }
    }

    func run() throws {
        common.applyThreads()
        let spec = try data.parsedSpec()
        let train = try data.load(defaultSplit: .train)
        guard train.isLabelled, train.classCount >= 2 else {
            throw ToolError.badInput("\(train.summary): a feature network needs labels of at least two classes")
        }
        let held = spec.hasSplits() && data.split != .test ? try spec.load(split: .test) : nil
        common.log("data: \(train.summary)" + (held.map { "; accuracy on \($0.summary)" } ?? ""))
        var config = FeatureNetworkTrainingConfig()
        (config.epochs, config.learningRate, config.seed) = (epochs, lr, seed)
        let total = train.count / config.batchSize * epochs
        let progress = common.progress("fs-eval featnet", total: total, unit: "step")
        let weights = FeatureNetworkTraining.train(config, data: train) { p in
            progress.update(completed: p.step, detail: String(format: "epoch %d loss %.4f", p.epoch + 1, p.loss))
        }
        progress.finish()
        let g = train.geometry
        let fx = try FeatureExtractor(weights: weights, config: FeatureNetworkConfig(inChannels: g.channels, height: g.height,
                                                                                     width: g.width, classes: train.classCount))
        let measured = held ?? train
        let accuracy = try classAccuracy(logits: fx(measured.images).logits, labels: measured.labels)
        let manifest = FeatureNetworkManifest(config: fx.config, dataset: train.record, accuracy: accuracy,
                                              accuracySplit: measured.split?.rawValue ?? "train (no test split)", training: config)
        if let output { try Safetensors.write(fx.safetensors(manifest), to: output) }
        let store = try common.openStore()
        let artifactName = name ?? "featnet-\(safeName(train.record.spec))-\(train.record.sha256.prefix(12))"
        let a = try store.putArtifact(kind: FeatureChoice.kind, name: artifactName, stateDict: fx.weights, metadata: manifest.json)
        var out: [String: Any] = ["name": a.name, "hash": a.hash, "accuracy": accuracy, "accuracy_split": manifest.accuracySplit!,
                                  "dataset": train.record.spec, "dataset_sha256": train.record.sha256, "checksum": fx.checksum]
        if let output { out["file"] = output }
        try common.emit(out, human: String(format: "stored feature network '%@': accuracy %.4f on %@", a.name, accuracy,
                                           manifest.accuracySplit!))
    }

    func safeName(_ spec: String) -> String {
        let base = (spec as NSString).lastPathComponent
        return String(base.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "-" })
    }
}
