import Datasets
import Foundation
import NN
import Store
import TensorCore
import Train

/// A model ready to sample from, loaded from a store reference or an exported `.safetensors` file,
/// with the sampling defaults its metadata records.
///
///     let m = try LoadedModel.load("teacher", store: store)          // latest checkpoint of run "teacher"
///     let m = try LoadedModel.load("teacher@4000", store: store)     // a given step
///     let m = try LoadedModel.load("models/teacher-mnist.safetensors", store: nil)
///
/// Store references are resolved with `ArtifactStore.resolve` (tag, RUN@STEP, RUN, artifact name, hash
/// prefix); the artifact must be a `checkpoint`, and its sampling weights are the EMA ones when present
/// (`loadSamplingWeights`). A reference that ends in `.safetensors` or contains a `/` is a file: exactly
/// the network's parameters under PyTorch names (`ema.`/`model.` prefixes are also understood), whose
/// `__metadata__` holds `config` as a JSON string (what `fs-store export` writes).
///
/// The metadata (artifact metadata JSON, or the file's `__metadata__` strings parsed as JSON) is read as a
/// `CheckpointManifest` of any version: `config` (required), `recommended_cfg` (default 1), `schedule`,
/// `shift` (default 3), a student's `segments`/`sigmas` grid (fs-sample's and fs-eval's default for it),
/// `kind` (default teacher), `step`, `data`.
///
/// Errors are `ToolError`s with exit code 3 (bad input) naming the reference: unknown reference, an
/// artifact of another kind (e.g. a trajectory bank), missing or invalid config, weights that do not
/// fit the configured network; store failures keep their own codes (4 when the store is busy).
public struct LoadedModel: Sendable {
    /// Where the weights came from.
    public enum Source: Sendable, Equatable {
        case artifact(ArtifactRecord, storePath: String)
        case file(path: String)
    }

    /// What kind of model the metadata says this is (students record `recommended_cfg` 1).
    public enum ModelKind: String, Sendable, Equatable { case teacher, student }

    /// The reference as the user gave it.
    public let reference: String
    public let source: Source
    public let model: VelocityModel
    /// Guidance weight to use when the user gives none (1 = no guidance).
    public let recommendedCFG: Float
    /// The schedule the model was trained/distilled for, if recorded.
    public let schedule: ScheduleKind?
    /// The schedule shift (default 3).
    public let shift: Float
    /// A student's own sigma grid (N+1 values ending in 0), if recorded as a list.
    public let segmentSigmas: [Float]?
    /// A student's step count, if recorded (the length of `segmentSigmas` minus one when it is a list).
    public let segmentCount: Int?
    public let kind: ModelKind
    /// Training step, if recorded.
    public let step: Int?
    /// The artifact's content hash, or the SHA-256 of the file's bytes.
    public let contentHash: String
    /// The images the model (or its teacher) was trained on, if recorded (metadata `data`, or
    /// `train_config.data`); nil for checkpoints made before datasets were recorded (MNIST).
    public var dataset: DatasetRecord?
    /// Everything the metadata says (`CheckpointManifest(reading:)`).
    public var manifest: CheckpointManifest

    /// The data geometry samples have: the recorded dataset's, else MNIST's with the model's channels.
    public var geometry: ImageGeometry {
        let s = model.sampleShape
        return ImageGeometry(channels: s[0], height: s[1], width: s[2])
    }

    public var config: ModelConfig { model.config }

    /// The artifact for store references (used as the parent of derived artifacts), nil for files.
    public var artifact: ArtifactRecord? {
        if case .artifact(let a, _) = source { return a }
        return nil
    }

    /// A short human name: the artifact's name, or the file's last path component.
    public var displayName: String {
        switch source {
        case .artifact(let a, _): return a.name
        case .file(let p): return (p as NSString).lastPathComponent
        }
    }

    /// True when `ref` names a file rather than a store reference: it ends in `.safetensors` or contains `/`.
    public static func isFileReference(_ ref: String) -> Bool {
        ref.lowercased().hasSuffix(".safetensors") || ref.contains("/")
    }

    /// Loads `ref` as a file (see `isFileReference`) or from `store` (opened lazily, only for store
    /// references, so sampling an exported file needs no store).
    public static func load(_ ref: String, store: () throws -> ArtifactStore) throws -> LoadedModel {
        if isFileReference(ref) { return try load(file: ref) }
        return try load(reference: ref, in: try store())
    }

    /// Resolves `ref` in `store` and loads the checkpoint's sampling weights.
    public static func load(reference ref: String, in store: ArtifactStore) throws -> LoadedModel {
        let a: ArtifactRecord
        do {
            a = try store.resolve(ref)
        } catch StoreError.unknownRef(_, let near) {
            throw ToolError.badInput("\(store.path): unknown model reference '\(ref)' (expected RUN, RUN@STEP, a tag, "
                                     + "KIND:NAME, an artifact name, a hash prefix, or a path to a .safetensors file)"
                                     + (near.isEmpty ? "" : "; nearest: \(near.joined(separator: ", "))"))
        }
        guard a.kind == ArtifactKind.checkpoint else {
            throw ToolError.badInput("\(store.path): '\(ref)' is a \(a.kind) artifact ('\(a.name)', \(a.shortHash)), "
                                     + "not a model checkpoint")
        }
        guard a.state == "complete" else {
            throw ToolError.badInput("\(store.path): checkpoint '\(a.name)' is not complete (state \(a.state))")
        }
        let what = "checkpoint '\(a.name)' in \(store.path)"
        let metadata = try parseObject(a.metadata, what: "metadata of \(what)")
        // Imported safetensors keep their original __metadata__ (all strings) under safetensors_metadata.
        var meta: [(String, OrderedJSON)]
        if metadata["source"]?.stringValue == "safetensors", let original = metadata["safetensors_metadata"]?.objectValue {
            meta = original.map { ($0.0, $0.1.stringValue.map(parseLoosely) ?? $0.1) }
        } else {
            meta = metadata.objectValue ?? []
        }
        if OrderedJSON.object(meta)["config"] == nil, let fallback = configFallback(a.config) {
            meta.append(("config", fallback))
        }
        // A LoRA student holds adapters only: sample its base + (alpha / r) B A (what it computed in training).
        let weights = try store.loraStudent(a)?.merged ?? store.loadSamplingWeights(a)
        return try make(weights: weights, metadata: .object(meta), reference: ref,
                        source: .artifact(a, storePath: store.path), hash: a.hash, what: what)
    }

    /// Loads an exported `.safetensors` file.
    public static func load(file path: String) throws -> LoadedModel {
        let file = try Safetensors.read(path: path)
        let names = file.entries.map(\.name)
        let prefix = ["ema.", "model."].first { p in names.contains { $0.hasPrefix(p) } } ?? ""
        var weights = StateDict()
        for e in file.entries where e.name.hasPrefix(prefix) {
            weights[String(e.name.dropFirst(prefix.count))] = try e.tensor(file: path)
        }
        let meta = (file.metadata ?? []).map { ($0.key, parseLoosely($0.value)) }
        let bytes: [UInt8]
        do { bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw ToolError.badInput("\(path): cannot read: \(error.localizedDescription)")
        }
        return try make(weights: weights, metadata: .object(meta), reference: path, source: .file(path: path),
                        hash: SHA256.hex(bytes), what: "model file \(path)")
    }

    /// Builds the model from weights and a metadata object (values already JSON, not strings).
    /// `what` names the input in error messages.
    public static func make(weights: StateDict, metadata meta: OrderedJSON, reference: String, source: Source,
                            hash: String, what: String) throws -> LoadedModel {
        func bad(_ s: String) -> ToolError { ToolError.badInput("\(what): \(s)") }
        let manifest: CheckpointManifest
        do { manifest = try CheckpointManifest(reading: meta) } catch let e as ManifestError { throw bad(e.description) }
        let config = manifest.model, dataset = manifest.data
        // A NaN or infinite weight would sample NaN images with exit 0: refuse the file up front.
        if let (name, t) = weights.items.first(where: { !$0.1.isFinite }) {
            let count = t.data.lazy.filter { !$0.isFinite }.count
            throw bad("weight '\(name)' holds \(count) NaN or infinite value\(count == 1 ? "" : "s") of \(t.count) "
                      + "(a diverged or damaged checkpoint)")
        }
        if let g = dataset?.geometry, g.channels != config.inChannels {
            throw bad("its dataset \(dataset!.spec) has \(g.channels) channels but the \(config.kind) takes \(config.inChannels)")
        }
        let model: VelocityModel
        do { model = try VelocityModel(config: config, weights: weights, sampleShape: dataset?.geometry.sampleShape) } catch let e as StateDictMismatch {
            throw bad("weights do not fit the \(config.kind) \(config.json): \(e.summary())")
        } catch let e as NetworkInputError {
            throw bad("its dataset \(dataset?.spec ?? "?"): \(e.description)")
        }
        return LoadedModel(reference: reference, source: source, model: model, recommendedCFG: manifest.recommendedCFG ?? 1,
                           schedule: manifest.schedule, shift: manifest.shift ?? 3, segmentSigmas: manifest.sigmas,
                           segmentCount: manifest.segments, kind: manifest.kind == .student ? .student : .teacher,
                           step: manifest.step, contentHash: hash, dataset: dataset, manifest: manifest)
    }

    /// A metadata string as JSON when it parses as JSON ("3.0", "[1,0]", "{...}"), else as a string ("fixed").
    static func parseLoosely(_ s: String) -> OrderedJSON {
        (try? OrderedJSON.parse(s)) ?? .string(s)
    }

    static func parseObject(_ text: String, what: String) throws -> OrderedJSON {
        guard let j = try? OrderedJSON.parse(text), j.objectValue != nil else {
            throw ToolError.badInput("\(what) is not a JSON object")
        }
        return j
    }

    /// An artifact's `config` column as a model config: itself when it describes a network (`channels`,
    /// or `"model": "dit"`), or its `model` object (fs-train stores the training config there).
    static func configFallback(_ text: String) -> OrderedJSON? {
        guard let j = try? OrderedJSON.parse(text) else { return nil }
        func isNetwork(_ c: OrderedJSON) -> Bool { c["channels"] != nil || c["model"]?.stringValue != nil }
        if isNetwork(j) { return j }
        if let m = j["model"], m.objectValue != nil, isNetwork(m) { return m }
        return nil
    }
}
