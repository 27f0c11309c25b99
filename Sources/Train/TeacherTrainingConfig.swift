import Datasets
import Foundation
import NN

/// Everything that defines a teacher training run. Saved with every checkpoint, so a resumed
/// run continues under exactly the settings it started with.
public struct TeacherTrainingConfig: Codable, Equatable, Sendable {
    public var preset: String
    public var model: UNetConfig
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

    /// Fits the model to `dataset`'s geometry and classes and records it. Throws when the UNet's
    /// downsampling does not divide the image size (each level after the first halves it).
    public mutating func adapt(to dataset: ImageDataset) throws {
        let g = dataset.geometry, factor = 1 << (model.channels.count - 1)
        guard g.height % factor == 0, g.width % factor == 0 else {
            throw DatasetError(file: dataset.record.spec, problem: "images are \(g.height)x\(g.width), but a UNet with "
                               + "\(model.channels.count) levels halves them \(model.channels.count - 1) times: the size must be "
                               + "a multiple of \(factor) (choose fewer --channels levels, or resize the images)")
        }
        model.inChannels = g.channels
        model.numClasses = dataset.classCount
        data = dataset.record
    }

    /// Named presets (DiT's model registry style). `tiny` is for tests and smoke runs;
    /// `mnist` trained the shipped teacher (models/teacher-mnist.json).
    public static func preset(_ name: String, seed: UInt64 = 0) -> TeacherTrainingConfig? {
        switch name {
        case "tiny":
            return TeacherTrainingConfig(preset: name, model: UNetConfig(channels: [8, 16], embedDim: 32), batchSize: 16,
                                         learningRate: 2e-3, warmupSteps: 5, weightDecay: 0, emaDecay: 0.99,
                                         gradClip: 1, labelDropout: 0.1, sigmaSampler: SigmaSampler(), seed: seed,
                                         gradientChunks: 4)
        case "mnist":
            return TeacherTrainingConfig(preset: name, model: UNetConfig(channels: [16, 32, 32]), batchSize: 128,
                                         learningRate: 1e-3, warmupSteps: 200, weightDecay: 0, emaDecay: 0.999,
                                         gradClip: 1, labelDropout: 0.1, sigmaSampler: SigmaSampler(), seed: seed,
                                         gradientChunks: 4)
        default:
            return nil
        }
    }

    public static let presetNames = ["tiny", "mnist"]

    public var json: String {
        let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
        return String(decoding: try! enc.encode(self), as: UTF8.self)
    }

    public static func fromJSON(_ text: String) throws -> TeacherTrainingConfig {
        try JSONDecoder().decode(TeacherTrainingConfig.self, from: Data(text.utf8))
    }
}
