import Foundation
import NN
import Store
import Train

/// A model ready to sample from, found by a store reference or a path to an exported `.safetensors`
/// file; reading the checkpoint into a model and its sampling defaults is Train's `ModelCheckpoint`,
/// whose properties (`model`, `recommendedCFG`, `shift`, `dataset`, ...) a `LoadedModel` forwards.
///
///     let m = try LoadedModel.load("teacher", store: store)          // latest checkpoint of run "teacher"
///     let m = try LoadedModel.load("teacher@4000", store: store)     // a given step
///     let m = try LoadedModel.load("models/teacher-mnist.safetensors", store: nil)
///
/// Store references are resolved with `ArtifactStore.resolve` (tag, RUN@STEP, RUN, artifact name, hash
/// prefix); the artifact must be a complete `checkpoint`, and its sampling weights are the EMA ones when
/// present (`loadSamplingWeights`), a LoRA student's its base + adapters merged. A reference that ends
/// in `.safetensors` or contains a `/` is a file (`ModelCheckpoint(file:)`).
///
/// Errors have exit code 3 (bad input) and name the reference: unknown reference, an artifact of another
/// kind (e.g. a trajectory bank), and `CheckpointError`s; store failures keep their own codes (4 when
/// the store is busy).
@dynamicMemberLookup
public struct LoadedModel: Sendable {
    /// Where the weights came from.
    public enum Source: Sendable, Equatable {
        case artifact(ArtifactRecord, storePath: String)
        case file(path: String)
    }

    /// The reference as the user gave it.
    public let reference: String
    public let source: Source
    public let checkpoint: ModelCheckpoint

    public subscript<T>(dynamicMember path: KeyPath<ModelCheckpoint, T>) -> T { checkpoint[keyPath: path] }

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
        let metadata = try ModelCheckpoint.storedMetadata(a.metadata, configColumn: a.config, what: what)
        // A LoRA student holds adapters only: sample its base + (alpha / r) B A (what it computed in training).
        let weights = try store.loraStudent(a)?.merged ?? store.loadSamplingWeights(a)
        return try make(weights: weights, metadata: metadata, reference: ref,
                        source: .artifact(a, storePath: store.path), hash: a.hash, what: what)
    }

    /// Loads an exported `.safetensors` file.
    public static func load(file path: String) throws -> LoadedModel {
        LoadedModel(reference: path, source: .file(path: path), checkpoint: try ModelCheckpoint(file: path))
    }

    /// Builds the model from weights and a metadata object; `what` names the input in error messages.
    public static func make(weights: StateDict, metadata: OrderedJSON, reference: String, source: Source,
                            hash: String, what: String) throws -> LoadedModel {
        LoadedModel(reference: reference, source: source,
                    checkpoint: try ModelCheckpoint(weights: weights, metadata: metadata, hash: hash, what: what))
    }
}
