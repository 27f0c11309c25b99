import Datasets
import Foundation
import NN
import Testing
import TensorCore
@testable import Eval

/// Trains the feature network on MNIST and writes its weights: the reproduction command of the
/// embedded weights (docs/eval.md). Runs only when `FS_TRAIN_FEATURE_NET` names the output file, in a
/// release build:
///
///     FS_TRAIN_FEATURE_NET=/tmp/feature_network.safetensors \
///         swift test -c release -Xswiftc -enable-testing --filter FeatureNetworkTrainingRun
///
/// Optional `FS_TRAIN_FEATURE_NET_EPOCHS` overrides the epoch count (for timing runs). Progress is
/// written to `$FS_TRAIN_FEATURE_NET.log`.
@Suite struct FeatureNetworkTrainingRun {
    static var output: String? { ProcessInfo.processInfo.environment["FS_TRAIN_FEATURE_NET"] }

    @Test(.enabled(if: output != nil)) func trainOnMNIST() throws {
        ComputeThreads.set(ComputeThreads.defaultCount)
        var config = FeatureNetworkTrainingConfig()
        if let e = ProcessInfo.processInfo.environment["FS_TRAIN_FEATURE_NET_EPOCHS"], let v = Int(e) { config.epochs = v }
        let train = try ImageDataset.mnist(.train), test = try ImageDataset.mnist(.test)
        let clock = ContinuousClock(), start = clock.now
        var window: Float = 0
        // `swift test` holds back the test's own output until the run ends: log progress to a file.
        FileManager.default.createFile(atPath: Self.output! + ".log", contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: Self.output! + ".log"))
        defer { try? log.close() }
        let weights = FeatureNetworkTraining.train(config, data: train) { p in
            window += p.loss
            if p.step % 100 == 0 || p.step == p.totalSteps {
                let line = "train step \(p.step)/\(p.totalSteps) epoch \(p.epoch) loss(avg100) \(window / 100) "
                    + "lr \(p.learningRate) t=\(clock.now - start)\n"
                log.write(Data(line.utf8))
                window = 0
            }
        }
        let trainTime = clock.now - start
        let fx = try FeatureExtractor(weights: weights)
        let t0 = clock.now
        let out = try fx(test.images)
        let accuracy = try classAccuracy(logits: out.logits, labels: test.labels)
        let summary = "FeatureNetwork: epochs \(config.epochs) train \(trainTime), test accuracy \(accuracy), "
            + "10k forward \(clock.now - t0), checksum \(fx.checksum)\n"
        log.write(Data(summary.utf8))
        print("FeatureNetwork: epochs \(config.epochs) train \(trainTime), test accuracy \(accuracy), "
              + "10k forward \(clock.now - t0), checksum \(fx.checksum)")
        let meta: [(key: String, value: String)] = [
            (key: "format", value: "pt"),
            (key: "config", value: String(decoding: try JSONEncoder().encode(config), as: UTF8.self)),
            (key: "test_accuracy", value: String(accuracy)),
        ]
        try Safetensors.write(stateDict: fx.weights, metadata: meta, to: Self.output!)
    }
}
