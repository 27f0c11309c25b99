import Datasets
import Foundation
import NN
import TensorCore

/// A checkpoint read into a model ready to sample, with the sampling defaults its manifest records.
///
/// The metadata (a store artifact's metadata JSON, or a file's `__metadata__` strings parsed as JSON) is
/// read as a `CheckpointManifest` of any version: `config` (required), `recommended_cfg` (default 1),
/// `schedule`, `shift` (default 3), a student's `segments`/`sigmas` grid (fs-sample's and fs-eval's
/// default for it), `kind` (default teacher), `step`, `data`. Every failure is a `CheckpointError` naming
/// the checkpoint (`what`): missing or invalid config, NaN or infinite weights, weights that do not fit
/// the configured network, a dataset the network cannot take. Finding a checkpoint (store references,
/// files) is the tools' part (ToolSupport's `LoadedModel`).
public struct ModelCheckpoint: Sendable {
    public let model: VelocityModel
    /// Everything the metadata says (`CheckpointManifest(reading:)`).
    public let manifest: CheckpointManifest
    /// The artifact's content hash, or the SHA-256 of the file's bytes.
    public let contentHash: String

    /// Builds the model from weights and a metadata object (values JSON or JSON text in strings).
    public init(weights: StateDict, metadata: OrderedJSON, hash: String, what: String) throws {
        func bad(_ s: String) -> CheckpointError { CheckpointError("\(what): \(s)") }
        let manifest: CheckpointManifest
        do { manifest = try CheckpointManifest(reading: metadata) } catch let e as ManifestError { throw bad(e.description) }
        let config = manifest.model, dataset = manifest.data
        // A NaN or infinite weight would sample NaN images with exit 0: refuse the checkpoint up front.
        if let (name, t) = weights.items.first(where: { !$0.1.isFinite }) {
            let count = t.data.lazy.filter { !$0.isFinite }.count
            throw bad("weight '\(name)' holds \(count) NaN or infinite value\(count == 1 ? "" : "s") of \(t.count) "
                      + "(a diverged or damaged checkpoint)")
        }
        if let g = dataset?.geometry, g.channels != config.inChannels {
            throw bad("its dataset \(dataset!.spec) has \(g.channels) channels but the \(config.kind) takes \(config.inChannels)")
        }
        do {
            model = try VelocityModel(config: config, weights: weights, sampleShape: dataset?.geometry.sampleShape)
        } catch let e as StateDictMismatch {
            throw bad("weights do not fit the \(config.kind) \(config.json): \(e.summary())")
        } catch let e as NetworkInputError {
            throw bad("its dataset \(dataset?.spec ?? "?"): \(e.description)")
        }
        (self.manifest, self.contentHash) = (manifest, hash)
    }

    /// Reads an exported `.safetensors` file: exactly the network's parameters under PyTorch names
    /// (`ema.`/`model.` prefixes are also understood, EMA first), `__metadata__` holding `config` as a
    /// JSON string (what `fs-store export` writes). The content hash is the SHA-256 of the file's bytes.
    public init(file path: String) throws {
        let file = try Safetensors.read(path: path)
        let names = file.entries.map(\.name)
        let prefix = ["ema.", "model."].first { p in names.contains { $0.hasPrefix(p) } } ?? ""
        var weights = StateDict()
        for e in file.entries where e.name.hasPrefix(prefix) {
            weights[String(e.name.dropFirst(prefix.count))] = try e.tensor(file: path)
        }
        let meta = (file.metadata ?? []).map { ($0.key, Self.parseLoosely($0.value)) }
        let bytes: [UInt8]
        do { bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw CheckpointError("\(path): cannot read: \(error.localizedDescription)")
        }
        try self.init(weights: weights, metadata: .object(meta), hash: SHA256.hex(bytes), what: "model file \(path)")
    }

    /// Guidance weight to use when the user gives none (1 = no guidance).
    public var recommendedCFG: Float { manifest.recommendedCFG ?? 1 }
    /// The schedule the model was trained/distilled for, if recorded.
    public var schedule: ScheduleKind? { manifest.schedule }
    /// The schedule shift (default 3).
    public var shift: Float { manifest.shift ?? 3 }
    /// A student's own sigma grid (N+1 values ending in 0), if recorded as a list.
    public var segmentSigmas: [Float]? { manifest.sigmas }
    /// A student's step count, if recorded.
    public var segmentCount: Int? { manifest.segments }
    public var kind: CheckpointManifest.Kind { manifest.kind }
    /// Training step, if recorded.
    public var step: Int? { manifest.step }
    /// The images the model (or its teacher) was trained on, if recorded; nil for checkpoints made
    /// before datasets were recorded (MNIST).
    public var dataset: DatasetRecord? { manifest.data }
    public var config: ModelConfig { model.config }

    /// The data geometry samples have: the recorded dataset's, else MNIST's with the model's channels.
    public var geometry: ImageGeometry {
        let s = model.sampleShape
        return ImageGeometry(channels: s[0], height: s[1], width: s[2])
    }

    /// A metadata string as JSON when it parses as JSON ("3.0", "[1,0]", "{...}"), else as a string ("fixed").
    public static func parseLoosely(_ s: String) -> OrderedJSON {
        (try? OrderedJSON.parse(s)) ?? .string(s)
    }
}
