import Datasets
import Foundation
import NN

/// Everything that defines a teacher training run. Saved with every checkpoint, so a resumed
/// run continues under exactly the settings it started with.
public struct TeacherTrainingConfig: Codable, Equatable, Sendable {
    public var preset: String
    /// The network and its constructor arguments (a UNet for runs made before the DiT).
    public var model: ModelConfig
    public var batchSize: Int
    public var learningRate: Float
    public var warmupSteps: Int
    public var weightDecay: Float
    public var emaDecay: Float
    public var gradClip: Float
    /// Share of training labels replaced by the null label, so the model also learns v_null for CFG.
    public var labelDropout: Float
    public var sigmaSampler: SigmaSampler
    public var seed: UInt64
    /// The images trained on (absent in checkpoints made before datasets were recorded: MNIST train).
    public var data: DatasetRecord?
    /// C: the fixed chunks each step's batch is cut into, one tape each, gradients added in chunk order
    /// (`GradientChunks`; the unit of work of the MPI ranks, so 1, 2 or 4 ranks give the same bits for C = 4).
    /// Absent in runs made before data parallelism: 1, the whole batch on one tape.
    public var gradientChunks: Int? = nil

    /// The chunk count in use: `gradientChunks` (1 for runs recorded without one), at most the batch size.
    public var chunks: Int { max(1, min(gradientChunks ?? 1, batchSize)) }

    enum CodingKeys: String, CodingKey {
        case preset, model, batchSize = "batch_size", learningRate = "learning_rate", warmupSteps = "warmup_steps"
        case weightDecay = "weight_decay", emaDecay = "ema_decay", gradClip = "grad_clip"
        case labelDropout = "label_dropout", sigmaSampler = "sigma_sampler", seed, data, gradientChunks = "gradient_chunks"
    }

    /// The dataset a run without a record trained on.
    public static let legacyDataSpec = "mnist"

    /// Fits the model to `dataset`'s geometry and classes and records it. Throws a `DatasetError` when the
    /// backbone cannot take the images (a UNet's downsampling must divide the size; a DiT's patch too).
    public mutating func adapt(to dataset: ImageDataset) throws {
        let g = dataset.geometry
        do {
            model = try model.fitted(channels: g.channels, height: g.height, width: g.width, classes: dataset.classCount)
        } catch let e as NetworkInputError {
            throw DatasetError(file: dataset.record.spec, problem: e.description)
        }
        data = dataset.record
    }

    /// Named presets (DiT's model registry style). `tiny` and `dit-tiny` are for tests and smoke runs;
    /// `mnist` trained the shipped teacher (models/teacher-mnist.json); `dit-mnist` is the DiT teacher
    /// (hidden 128, patch 4: 49 tokens at 28x28, six blocks of four heads).
    public static func preset(_ name: String, seed: UInt64 = 0) -> TeacherTrainingConfig? {
        func make(_ model: ModelConfig, batch: Int, lr: Float, warmup: Int, ema: Float) -> TeacherTrainingConfig {
            TeacherTrainingConfig(preset: name, model: model, batchSize: batch, learningRate: lr, warmupSteps: warmup,
                                  weightDecay: 0, emaDecay: ema, gradClip: 1, labelDropout: 0.1,
                                  sigmaSampler: SigmaSampler(), seed: seed, gradientChunks: 4)
        }
        switch name {
        case "tiny":
            return make(.unet(UNetConfig(channels: [8, 16], embedDim: 32)), batch: 16, lr: 2e-3, warmup: 5, ema: 0.99)
        case "mnist":
            return make(.unet(UNetConfig(channels: [16, 32, 32])), batch: 128, lr: 1e-3, warmup: 200, ema: 0.999)
        case "dit-tiny":
            return make(.dit(DiTConfig(patchSize: 4, hiddenSize: 32, depth: 2, numHeads: 2)),
                        batch: 16, lr: 2e-3, warmup: 5, ema: 0.99)
        case "dit-mnist":
            return make(.dit(DiTConfig(patchSize: 4, hiddenSize: 128, depth: 6, numHeads: 4)),
                        batch: 128, lr: 3e-4, warmup: 200, ema: 0.999)
        default:
            return nil
        }
    }

    /// The preset for a backbone: `dit` picks the `dit-` twin of a UNet preset name (`tiny` -> `dit-tiny`).
    public static func presetName(_ name: String, model kind: String) -> String {
        kind == "dit" && !name.hasPrefix("dit-") ? "dit-" + name : name
    }

    public static let presetNames = ["tiny", "mnist", "dit-tiny", "dit-mnist"]

    public var json: String {
        let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
        return String(decoding: try! enc.encode(self), as: UTF8.self)
    }

    public static func fromJSON(_ text: String) throws -> TeacherTrainingConfig {
        try JSONDecoder().decode(TeacherTrainingConfig.self, from: Data(text.utf8))
    }
}
