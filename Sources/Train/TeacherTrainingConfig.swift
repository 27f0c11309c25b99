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

    enum CodingKeys: String, CodingKey {
        case preset, model, batchSize = "batch_size", learningRate = "learning_rate", warmupSteps = "warmup_steps"
        case weightDecay = "weight_decay", emaDecay = "ema_decay", gradClip = "grad_clip"
        case labelDropout = "label_dropout", sigmaSampler = "sigma_sampler", seed
    }

    /// Named presets (DiT's model registry style). `tiny` is for tests and smoke runs;
    /// `mnist` trained the shipped teacher (models/teacher-mnist.json).
    public static func preset(_ name: String, seed: UInt64 = 0) -> TeacherTrainingConfig? {
        switch name {
        case "tiny":
            return TeacherTrainingConfig(preset: name, model: UNetConfig(channels: [8, 16], embedDim: 32), batchSize: 16,
                                         learningRate: 2e-3, warmupSteps: 5, weightDecay: 0, emaDecay: 0.99,
                                         gradClip: 1, labelDropout: 0.1, sigmaSampler: SigmaSampler(), seed: seed)
        case "mnist":
            return TeacherTrainingConfig(preset: name, model: UNetConfig(channels: [16, 32, 32]), batchSize: 128,
                                         learningRate: 1e-3, warmupSteps: 200, weightDecay: 0, emaDecay: 0.999,
                                         gradClip: 1, labelDropout: 0.1, sigmaSampler: SigmaSampler(), seed: seed)
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
