import NN

/// A LoRA student checkpoint holds adapters only; its base (the teacher) is another artifact, named by
/// content hash in the metadata (train_config "lora": {r, lora_alpha, target_modules}; "teacher_hash"), never copied.
public struct LoRAStudentParts {
    public let lora: LoRA
    /// The sampling adapters (EMA, else model).
    public let adapters: StateDict
    public let base: ArtifactRecord
    public let baseWeights: StateDict

    /// Base + (alpha / r) B A: a plain model of the base's architecture.
    public var merged: StateDict { lora.merged(base: baseWeights, adapters: adapters) }
}

extension ArtifactStore {
    /// The parts of checkpoint `a` if it is a LoRA student (train_config "lora"), nil otherwise. Throws
    /// `badInput` naming the checkpoint when its base is missing from this store or does not fit.
    public func loraStudent(_ a: ArtifactRecord) throws -> LoRAStudentParts? {
        guard let meta = try? OrderedJSON.parse(a.metadata), let l = meta["train_config"]?["lora"], l != .null else { return nil }
        func bad(_ why: String) -> StoreError { .badInput(file: path, reason: "LoRA checkpoint '\(a.name)' \(why)") }
        let config: LoRAConfig
        do { config = try LoRA.config(metadata: (l.objectValue ?? []).map { ($0.0, $0.1.stringValue ?? $0.1.serialized) },
                                      source: a.name) } catch { throw bad("has unusable LoRA metadata: \(error)") }
        guard let hash = meta["teacher_hash"]?.stringValue, !hash.isEmpty else { throw bad("names no base (teacher_hash)") }
        let base: ArtifactRecord
        do { base = try resolve(hash) } catch {
            throw bad("needs its base model \(hash.prefix(12)), which is not in this store (import or merge it first)")
        }
        guard base.hash == hash else { throw bad("names base \(hash.prefix(12)) but \(base.shortHash) was found") }
        let baseWeights = try loadSamplingWeights(base)
        let lora: LoRA
        do { lora = try LoRA(config, baseWeights: baseWeights) } catch { throw bad("does not fit its base: \(error)") }
        let adapters = try loadSamplingWeights(a)
        do { try lora.validate(adapters: adapters) } catch { throw bad("\(error)") }
        return LoRAStudentParts(lora: lora, adapters: adapters, base: base, baseWeights: baseWeights)
    }
}
