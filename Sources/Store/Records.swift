import Foundation
import NN

/// Row id of an artifact in one store (not stable across stores: use the hash for that).
public typealias ArtifactID = Int64

/// A named tensor payload: name, dtype, shape and raw little-endian bytes (same as a safetensors entry).
public typealias NamedBlob = SafetensorsEntry

/// Well-known artifact kinds (any string is accepted).
public enum ArtifactKind {
    public static let checkpoint = "checkpoint"
    public static let optimizerState = "optimizer_state"
    public static let trajectoryBank = "trajectory_bank"
    public static let sampleSet = "sample_set"
    public static let featureStats = "feature_stats"
    public static let image = "image"
    public static let evalResult = "eval_result"
    public static let metric = "metric"
}

/// One artifact's catalogue entry (its payload is loaded separately).
public struct ArtifactRecord: Sendable, Equatable {
    public var id: ArtifactID
    public var kind: String
    public var name: String
    public var run: String?
    public var step: Int?
    /// SHA-256 (hex) of the canonical payload encoding; empty while a trajectory bank is open.
    public var hash: String
    /// Payload bytes (tensor data, or trajectory rows).
    public var size: Int
    public var createdAt: Double
    public var config: String
    public var codeRev: String?
    public var metadata: String
    /// "complete", or "open" for a trajectory bank still being appended to.
    public var state: String
    public var parents: [ArtifactID]

    /// The first 12 hex digits of the hash, as shown by `fs-store ls`.
    public var shortHash: String { String(hash.prefix(12)) }
}

/// A training or evaluation run.
public struct RunRecord: Sendable, Equatable {
    public var name: String
    public var kind: String
    public var status: String
    public var config: String
    public var codeRev: String?
    public var createdAt: Double
    public var updatedAt: Double
}

/// Run status values.
public enum RunStatus {
    public static let running = "running"
    public static let finished = "finished"
    public static let failed = "failed"
}

/// One point of a metric time series.
public struct MetricPoint: Sendable, Equatable {
    public var step: Int
    public var name: String
    public var value: Double
    public var time: Double
    public init(step: Int, name: String, value: Double, time: Double? = nil) {
        self.step = step; self.name = name; self.value = value; self.time = time ?? timestampNow()
    }
}

/// One teacher trajectory: sample index, its seed, label, guidance weight and the K+1 states
/// (each `stateSize` floats) flattened.
public struct TrajectoryRow: Sendable, Equatable {
    public var sample: Int
    public var seed: UInt64
    public var label: Int
    public var guidance: Float
    public var states: [Float]
    public init(sample: Int, seed: UInt64, label: Int, guidance: Float, states: [Float]) {
        self.sample = sample; self.seed = seed; self.label = label; self.guidance = guidance; self.states = states
    }
}

/// A whole trajectory bank in contiguous arrays, sorted by sample index.
public struct TrajectoryBank: Sendable {
    public var samples: [Int] = []
    public var seeds: [UInt64] = []
    public var labels: [Int] = []
    public var guidance: [Float] = []
    /// Row-major [count, rowFloats].
    public var states: [Float] = []
    public var rowFloats: Int = 0
    public var count: Int { samples.count }
    public init() {}
}

/// Seconds since 1970 (creation times, metric times).
func timestampNow() -> Double { Date().timeIntervalSince1970 }
