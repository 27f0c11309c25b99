import Datasets
import Foundation
import NN
import Testing
import TensorCore
@testable import Eval

@Suite struct FeatureNetworkTests {
    @Test func parameterNamesAndShapesArePyTorchs() {
        let shapes = FeatureNetwork().parameterShapes
        #expect(shapes.map(\.key) == ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias",
                                      "conv3.weight", "conv3.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"])
        #expect(shapes.map(\.shape) == [[32, 1, 3, 3], [32], [64, 32, 3, 3], [64], [64, 64, 3, 3], [64],
                                        [128, 3136], [128], [10, 128], [10]])
    }

    @Test func crossEntropyValueAndGradient() {
        let logits = Tensor(shape: [2, 3], data: [1, 2, 3, 0, 0, 10])
        let labels = [2, 0]
        let tape = Tape()
        let x = tape.variable(logits)
        let loss = softmaxCrossEntropy(x, labels: labels)
        // Reference: log-sum-exp by hand in Float64.
        func ce(_ l: [Double]) -> Double {
            var s = 0.0
            for i in 0..<2 {
                let row = (0..<3).map { l[i * 3 + $0] }
                s += log(row.map(exp).reduce(0, +)) - row[labels[i]]
            }
            return s / 2
        }
        let exact = logits.data.map(Double.init)
        #expect(abs(Double(loss.value.scalar) - ce(exact)) < 1e-5)
        let g = tape.backward(loss)[x]
        for k in 0..<6 {
            var up = exact, down = exact
            up[k] += 1e-3; down[k] -= 1e-3
            let fd = (ce(up) - ce(down)) / 2e-3
            #expect(abs(Double(g.data[k]) - fd) < 1e-5, "logit \(k)")
        }
    }

    @Test func extractorIsBatchInvariantAndChecksummed() throws {
        let weights = FeatureNetwork().initialParameters(seed: 7)
        let fx = try FeatureExtractor(weights: weights)
        #expect(fx.checksum.count == 64)
        #expect(try FeatureExtractor(weights: weights).checksum == fx.checksum)
        #expect(try FeatureExtractor(weights: FeatureNetwork().initialParameters(seed: 8)).checksum != fx.checksum)
        let images = TestData.features(7, 784, seed: 50).reshaped([7, 1, 28, 28])
        let a = try fx(images, batchSize: 7), b = try fx(images, batchSize: 3)
        #expect(a.features.shape == [7, 128] && a.logits.shape == [7, 10])
        #expect(zip(a.features.data, b.features.data).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($0)) })
        #expect(a.features.data.allSatisfy { $0 >= 0 })
        let stats = try fx.statistics(images, batchSize: 2)
        #expect(stats.count == 7 && stats.dimension == 128)
        #expect(throws: EvalError.self) { try fx(Tensor(zeros: [2, 1, 32, 32])) }
        var missing = weights; missing["fc2.bias"] = nil
        #expect(throws: StateDictMismatch.self) { try FeatureExtractor(weights: missing) }
    }

    /// A few SGD steps on a tiny synthetic two-class problem must lower the loss (the full MNIST run
    /// is `FeatureNetworkTrainingRun`, release only).
    @Test func trainingStepsReduceTheLoss() {
        var g = SplitMix64(seed: 60)
        let n = 32
        var pixels = [Float](repeating: -1, count: n * 784), labels = [Int]()
        for i in 0..<n {
            let label = i % 2
            labels.append(label)
            // Class 0: bright left half, class 1: bright right half, plus noise.
            for r in 0..<28 { for c in 0..<28 where (c < 14) == (label == 0) { pixels[i * 784 + r * 28 + c] = 0.8 } }
            for k in 0..<784 { pixels[i * 784 + k] += 0.1 * g.normals(1)[0] }
        }
        let data = ImageDataset(split: .train, images: Tensor(shape: [n, 1, 28, 28], data: pixels), labels: labels)
        var config = FeatureNetworkTrainingConfig()
        config.epochs = 3; config.batchSize = 16; config.warmupSteps = 1; config.learningRate = 0.02
        var losses: [Float] = []
        let w = FeatureNetworkTraining.train(config, data: data) { losses.append($0.loss) }
        #expect(losses.count == 6)
        #expect(losses.last! < losses.first!, "losses \(losses)")
        #expect(w.keys == FeatureNetwork().parameterShapes.map(\.key))
    }
}
