import NN
import TensorCore

extension ArtifactStore {
    /// The artifact's payload as safetensors entries (archive format): its tensors in stored
    /// order, or for a trajectory bank the columns `sample` I64, `seed` U64, `label` I64,
    /// `guidance` F32 and `states` F32 [rows, rowFloats].
    public func payload(_ a: ArtifactRecord) throws -> SafetensorsFile {
        guard a.kind == ArtifactKind.trajectoryBank else { return SafetensorsFile(entries: try loadBlobs(a)) }
        let b = try readBank(a)
        func bytes<T>(_ v: [T]) -> [UInt8] { v.withUnsafeBytes { [UInt8]($0) } }
        return SafetensorsFile(entries: [
            NamedBlob(name: "sample", dtype: .I64, shape: [b.count], bytes: bytes(b.samples.map { Int64($0).littleEndian })),
            NamedBlob(name: "seed", dtype: .U64, shape: [b.count], bytes: bytes(b.seeds.map { $0.littleEndian })),
            NamedBlob(name: "label", dtype: .I64, shape: [b.count], bytes: bytes(b.labels.map { Int64($0).littleEndian })),
            NamedBlob(name: "guidance", dtype: .F32, shape: [b.count], bytes: bytes(b.guidance)),
            NamedBlob(name: "states", dtype: .F32, shape: [b.count, b.rowFloats], bytes: bytes(b.states)),
        ])
    }

    /// Stores a payload read back from an archive or another store under `record`'s kind, name and
    /// labels (parents already mapped). Idempotent: an equal artifact is reused, a different one of
    /// the same name refused. Throws `corrupt` if the stored content hash differs from `record.hash`.
    func storePayload(_ file: SafetensorsFile, like r: ArtifactRecord, parents: [ArtifactID], source: String) throws -> ArtifactRecord {
        if r.kind == ArtifactKind.trajectoryBank {
            func col(_ n: String) throws -> SafetensorsEntry {
                guard let e = file.entry(n) else { throw StoreError.badInput(file: source, reason: "bank '\(r.name)': no column '\(n)'") }
                return e
            }
            let (s, sd, l, g, st) = (try col("sample"), try col("seed"), try col("label"), try col("guidance"), try col("states"))
            let rows = s.shape.first ?? 0
            let rf = st.shape.count == 2 ? st.shape[1] : -1
            guard sd.shape == [rows], l.shape == [rows], g.shape == [rows], st.shape == [rows, rf],
                  s.dtype == .I64, sd.dtype == .U64, l.dtype == .I64, g.dtype == .F32, st.dtype == .F32 else {
                throw StoreError.badInput(file: source, reason: "bank '\(r.name)': inconsistent column shapes or dtypes")
            }
            func ints(_ e: SafetensorsEntry) -> [Int64] { e.bytes.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) } }
            let samples = ints(s), seeds = ints(sd), labels = ints(l)
            let guidance = g.bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            let states = st.bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            let bank = try createOrOpenBank(name: r.name, config: r.config, rowFloats: rf, run: r.run, parents: parents)
            if bank.state == "complete" {
                guard bank.hash == r.hash else {
                    throw StoreError.conflict("\(path): a different trajectory bank named '\(r.name)' already exists (hash \(bank.shortHash))")
                }
                return bank
            }
            let batch = 1024
            for start in stride(from: 0, to: rows, by: batch) {
                let chunk = (start..<min(rows, start + batch)).map { i in
                    TrajectoryRow(sample: Int(samples[i]), seed: UInt64(bitPattern: seeds[i]), label: Int(labels[i]),
                                  guidance: guidance[i], states: Array(states[(i * rf)..<((i + 1) * rf)]))
                }
                try appendTrajectories(bank: bank, rows: chunk)
            }
            if r.state == "complete" {
                let done = try finalizeBank(bank)
                guard done.hash == r.hash else {
                    throw StoreError.corrupt(path: source, reason: "bank '\(r.name)': content hash \(done.shortHash) does not match the recorded \(r.shortHash)")
                }
                return done
            }
            return try artifact(bank.id)
        }
        let a = try putArtifact(kind: r.kind, name: r.name, run: r.run, step: r.step, tensors: file.entries,
                                metadata: r.metadata, config: r.config, parents: parents, codeRev: r.codeRev)
        guard a.hash == r.hash else {
            throw StoreError.corrupt(path: source, reason: "\(r.kind) '\(r.name)': content hash \(a.shortHash) does not match the recorded \(r.shortHash)")
        }
        return a
    }

    /// Imports a safetensors file (for example written by PyTorch) as a checkpoint-kind artifact
    /// whose tensors keep the file's names and order; `__metadata__` is kept (in order) so the
    /// export is byte-identical.
    @discardableResult
    public func importSafetensors(path file: String, name: String, run: String? = nil, step: Int? = nil,
                                  kind: String = ArtifactKind.checkpoint) throws -> ArtifactRecord {
        let f: SafetensorsFile
        do { f = try Safetensors.read(path: file) } catch let e as SafetensorsError {
            throw StoreError.badInput(file: e.file, reason: e.reason)
        }
        return try importSafetensors(f, fileName: file, name: name, run: run, step: step, kind: kind)
    }

    /// Imports an already parsed safetensors file (see `importSafetensors(path:...)`).
    @discardableResult
    public func importSafetensors(_ f: SafetensorsFile, fileName file: String, name: String, run: String? = nil,
                                  step: Int? = nil, kind: String = ArtifactKind.checkpoint) throws -> ArtifactRecord {
        // Two checkpoints at one RUN@STEP would make that reference ambiguous.
        if let run, let step, kind == ArtifactKind.checkpoint,
           let other = try artifacts(where: "WHERE run = ? AND step = ? AND kind = ? AND name != ?", [run, step, kind, name]).first {
            throw StoreError.conflict("\(path): run '\(run)' already has a checkpoint at step \(step) (\(Self.exactReference(other)), #\(other.id)); importing '\(name)' there would make '\(run)@\(step)' ambiguous: choose another --run or --step")
        }
        var meta = OrderedJSON.object([("source", .string("safetensors")),
                                       ("file", .string(String(file.split(separator: "/").last ?? Substring(file))))])
        var config = "{}"
        if let m = f.metadata {
            meta = meta.setting("safetensors_metadata", .object(m.map { ($0.key, OrderedJSON.string($0.value)) }))
            if let c = f.metadataValue("config"), (try? OrderedJSON.parse(c))?.objectValue != nil { config = c }
        }
        return try putArtifact(kind: kind, name: name, run: run, step: step, tensors: f.entries,
                               metadata: meta.serialized, config: config)
    }

    /// The safetensors file `export` writes for an artifact, and whether to keep its tensor order.
    /// Imported files: the original tensors and `__metadata__`, in file order (byte-identical).
    /// Checkpoints with `ema.`/`model.` tensors: the EMA weights (else model) under plain PyTorch
    /// names, sorted like PyTorch, with `__metadata__` {"format": "pt", "config": <metadata.config>,
    /// plus recommended_cfg/shift/schedule/step/kind/segments/sigmas/method/data when present}. Banks: the payload columns. Anything else: all tensors with
    /// {"format": "flowsteer", "kind", "metadata"}.
    /// A LoRA student checkpoint exports merged (base + (alpha / r) B A, a plain model that loads strictly)
    /// or, with `adaptersOnly`, its adapters under PEFT's names with PEFT's adapter_config in the metadata.
    /// `recommendedCFG` replaces the model's recorded guidance (e.g. the w* a sweep selected after training);
    /// only model files carry one, so it is refused for banks and other artifacts.
    public func exportFile(_ a: ArtifactRecord, adaptersOnly: Bool = false,
                           recommendedCFG: Float? = nil) throws -> (file: SafetensorsFile, keepOrder: Bool) {
        var (f, keep) = try exportFileAsStored(a, adaptersOnly: adaptersOnly)
        guard let w = recommendedCFG else { return (f, keep) }
        let isModel = (f.metadata ?? []).contains { $0.key == "config" || $0.key == "base_config" }
        guard w.isFinite, w >= 0 else {
            throw StoreError.badInput(file: path, reason: "--recommended-cfg \(w): a guidance weight is a finite number >= 0")
        }
        guard isModel, !adaptersOnly else {
            throw StoreError.badInput(file: path, reason: adaptersOnly
                ? "--recommended-cfg: an adapter file carries no guidance (export the merged model)"
                : "--recommended-cfg: '\(a.name)' (\(a.kind)) does not export as a model file")
        }
        let value = w.description  // as checkpoints write it (Float.description: 1.25, not 1.2500000)
        if let i = f.metadata?.firstIndex(where: { $0.key == "recommended_cfg" }) {
            f.metadata![i].value = value
        } else {
            f.metadata?.append(("recommended_cfg", value))
        }
        return (f, keep)
    }

    private func exportFileAsStored(_ a: ArtifactRecord, adaptersOnly: Bool) throws -> (file: SafetensorsFile, keepOrder: Bool) {
        let student = try loraStudent(a)
        if adaptersOnly && student == nil {
            throw StoreError.badInput(file: path, reason: "--adapters-only: '\(a.name)' is not a LoRA student checkpoint")
        }
        if a.kind == ArtifactKind.trajectoryBank {
            var p = try payload(a)
            p.metadata = [("format", "flowsteer"), ("kind", a.kind), ("metadata", a.metadata), ("config", a.config)]
            return (p, true)
        }
        let meta = try OrderedJSON.parse(a.metadata)
        let blobs = try loadBlobs(a)
        if meta["source"]?.stringValue == "safetensors" {
            let m = meta["safetensors_metadata"]?.objectValue?.map { (key: $0.0, value: $0.1.stringValue ?? $0.1.serialized) }
            return (SafetensorsFile(entries: blobs, metadata: m), true)
        }
        let names = blobs.map(\.name)
        if let prefix = ["ema.", "model."].first(where: { p in names.contains { $0.hasPrefix(p) } }) {
            var entries = blobs.filter { $0.name.hasPrefix(prefix) }.map {
                NamedBlob(name: String($0.name.dropFirst(prefix.count)), dtype: $0.dtype, shape: $0.shape, bytes: $0.bytes)
            }
            if let student, !adaptersOnly { entries = SafetensorsFile(stateDict: student.merged).entries }
            var m: [(key: String, value: String)] = student.map {
                adaptersOnly ? $0.lora.adapterMetadata() : [("format", "pt"), ("lora_merged", "true")]
            } ?? [("format", "pt")]
            if let student { m.append(("base_model_hash", student.base.hash)) }
            let config = meta["config"] ?? (try? OrderedJSON.parse(a.config)) ?? .object([])
            // An adapter file's base is named by hash; its config is the base's (every value a string).
            m.append((adaptersOnly ? "base_config" : "config", config.stringValue ?? config.serialized))
            for k in ["recommended_cfg", "shift", "schedule", "step", "kind", "segments", "sigmas", "method"] {
                if let v = meta[k] { m.append((k, v.stringValue ?? v.serialized)) }
            }
            // The dataset record (teachers made before it was a top-level key carry it in train_config).
            if let d = meta["data"] ?? meta["train_config"]?["data"] { m.append(("data", d.serialized)) }
            return (SafetensorsFile(entries: entries, metadata: m), false)
        }
        return (SafetensorsFile(entries: blobs, metadata: [("format", "flowsteer"), ("kind", a.kind), ("metadata", a.metadata)]), true)
    }

    /// Writes `exportFile(a)` to `path` (atomically).
    public func exportSafetensors(_ a: ArtifactRecord, to file: String, adaptersOnly: Bool = false,
                                  recommendedCFG: Float? = nil) throws {
        let (f, keep) = try exportFile(a, adaptersOnly: adaptersOnly, recommendedCFG: recommendedCFG)
        // Failing to write the output is a write failure (exit 1), like failing to write the store.
        do { try Safetensors.write(f, to: file, pythonOrder: !keep) } catch let e as SafetensorsError {
            throw StoreError.writeFailed(path: e.file, reason: e.reason)
        }
    }
}
