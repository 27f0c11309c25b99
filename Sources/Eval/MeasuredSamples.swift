import NN
import TensorCore

/// Generated samples reduced to what the metrics need: features and logits from the feature network,
/// and (when a teacher's samples of the same seeds and labels are given) the trajectory MSE per sample.
/// Filled chunk by chunk, so an evaluation keeps the features, never all the images.
public struct MeasuredSamples: Sendable {
    public let extractor: FeatureExtractor
    private var featureData: [Float] = [], logitData: [Float] = []
    /// Per-sample trajectory MSE (`TrajectoryFidelity`), empty without a teacher.
    public private(set) var trajectory: [Double] = []
    public private(set) var count = 0

    public init(extractor: FeatureExtractor) { self.extractor = extractor }

    /// Adds a chunk of samples [n, C, H, W] in model space (clamped to the pixel range [-1, 1] here,
    /// as images are before anyone sees them) and optionally the teacher's samples of the same noise.
    public mutating func add(_ samples: Tensor, teacher: Tensor? = nil) throws {
        guard samples.isFinite else { throw EvalError.nonFinite(what: "samples") }
        let (f, g) = try extractor(samples.map { min(1, max(-1, $0)) })
        featureData += f.data; logitData += g.data
        if let teacher {
            guard trajectory.count == count else { throw EvalError.badShape(what: "teacher samples", shape: teacher.shape, expected: "a teacher for every chunk") }
            trajectory += try TrajectoryFidelity(student: samples, teacher: teacher).perSample
        } else if !trajectory.isEmpty {
            throw EvalError.badShape(what: "teacher samples", shape: [], expected: "a teacher for every chunk")
        }
        count += samples.shape[0]
    }

    public var features: Tensor { Tensor(shape: [count, extractor.featureDimension], data: featureData) }
    public var logits: Tensor { Tensor(shape: [count, extractor.classes], data: logitData) }

    /// Mean trajectory MSE over every sample, or nil without a teacher.
    public var trajectoryMSE: Double? {
        trajectory.isEmpty ? nil : trajectory.reduce(0, +) / Double(trajectory.count)
    }
}
