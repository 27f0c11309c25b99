import NN
import TensorCore

extension ArtifactStore {
    /// Stores tensors (chunked raw little-endian blobs) as one artifact in one transaction.
    /// An existing artifact of the same kind and name is returned when its content hash is equal
    /// and refused (`conflict`) otherwise.
    @discardableResult
    public func putArtifact(kind: String, name: String, run: String? = nil, step: Int? = nil,
                            tensors: [NamedBlob], metadata: String = "{}", config: String = "{}",
                            parents: [ArtifactID] = [], codeRev: String? = nil) throws -> ArtifactRecord {
        let metadata = try checkedJSON(metadata, what: "metadata of '\(name)'")
        let config = try checkedJSON(config, what: "config of '\(name)'")
        var names = Set<String>()
        for t in tensors {
            guard names.insert(t.name).inserted else { throw StoreError.badInput(file: name, reason: "duplicate tensor '\(t.name)'") }
            guard t.shape.reduce(1, *) * t.dtype.byteSize == t.bytes.count else {
                throw StoreError.badInput(file: name, reason: "tensor '\(t.name)': shape \(t.shape) does not match \(t.bytes.count) bytes")
            }
        }
        // Hash on another thread while this one writes the rows (the row is invisible until commit).
        let hashing = BackgroundTask { () -> String in
            var hasher = ContentHasher(bank: false, kind: kind, metadata: metadata)
            for t in tensors {
                hasher.blobHeader(name: t.name, dtype: t.dtype.rawValue, shape: t.shape, nbytes: t.bytes.count)
                t.bytes.withUnsafeBytes { hasher.bytes($0) }
            }
            return hasher.hex()
        }
        let size = tensors.reduce(0) { $0 + $1.bytes.count }
        return try db.transaction {
            if let existing = try artifactIfExists(kind: kind, name: name) {
                if existing.hash == hashing.wait() { return existing }
                throw StoreError.conflict("\(path): a different \(kind) named '\(name)' already exists (hash \(existing.shortHash))")
            }
            let id = try insertArtifactRow(kind: kind, name: name, run: run, step: step, hash: "", size: size,
                                           config: config, codeRev: codeRev ?? codeRevision, metadata: metadata,
                                           state: "complete", parents: parents, createdAt: nil)
            for (ordinal, t) in tensors.enumerated() {
                try insertBlob(artifact: id, ordinal: ordinal, name: t.name, dtype: t.dtype.rawValue, shape: t.shape, bytes: t.bytes)
            }
            try db.execute("UPDATE artifact SET hash = ? WHERE id = ?", [hashing.wait(), id])
            return try artifact(id)
        }
    }

    /// Stores an F32 `StateDict` (keys in order) as one artifact.
    @discardableResult
    public func putArtifact(kind: String, name: String, run: String? = nil, step: Int? = nil, stateDict: StateDict,
                            metadata: String = "{}", config: String = "{}", parents: [ArtifactID] = []) throws -> ArtifactRecord {
        try putArtifact(kind: kind, name: name, run: run, step: step,
                        tensors: stateDict.items.map { NamedBlob(name: $0.0, tensor: $0.1) },
                        metadata: metadata, config: config, parents: parents)
    }

    /// A training checkpoint (docs/design.md): tensors `model.*`, `ema.*`, `opt.m.*`, `opt.v.*`,
    /// named "RUN@STEP", so `RUN` and `RUN@STEP` resolve to it.
    @discardableResult
    public func putCheckpoint(run: String, step: Int, model: StateDict, ema: StateDict? = nil,
                              optM: StateDict? = nil, optV: StateDict? = nil, metadata: String = "{}",
                              config: String = "{}", parents: [ArtifactID] = []) throws -> ArtifactRecord {
        var all = model.prefixed("model.")
        if let ema { all.merge(ema.prefixed("ema.")) }
        if let optM { all.merge(optM.prefixed("opt.m.")) }
        if let optV { all.merge(optV.prefixed("opt.v.")) }
        return try putArtifact(kind: ArtifactKind.checkpoint, name: "\(run)@\(step)", run: run, step: step,
                               stateDict: all, metadata: metadata, config: config, parents: parents)
    }

    func insertArtifactRow(kind: String, name: String, run: String?, step: Int?, hash: String, size: Int,
                           config: String, codeRev: String?, metadata: String, state: String,
                           parents: [ArtifactID], createdAt: Double?) throws -> ArtifactID {
        try db.execute("""
            INSERT INTO artifact(kind, name, run, step, hash, size, created_at, config, code_rev, metadata, state)
            VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [kind, name, run, step, hash, size, createdAt ?? timestampNow(), config, codeRev, metadata, state])
        let id = db.lastInsertRowID
        for p in Set(parents) {
            guard try db.scalarInt("SELECT 1 FROM artifact WHERE id = ?", [p]) != nil else {
                throw StoreError.notFound("\(path): parent artifact \(p) does not exist")
            }
            try db.execute("INSERT INTO lineage(child, parent) VALUES(?, ?)", [id, p])
        }
        return id
    }

    func insertBlob(artifact id: ArtifactID, ordinal: Int, name: String, dtype: String, shape: [Int], bytes: [UInt8]) throws {
        try db.execute("INSERT INTO blob(artifact, ordinal, name, dtype, shape, nbytes) VALUES(?, ?, ?, ?, ?, ?)",
                       [id, ordinal, name, dtype, shapeJSON(shape), bytes.count])
        let st = try db.prepare("INSERT INTO blob_chunk(artifact, ordinal, chunk, data) VALUES(?, ?, ?, ?)")
        try bytes.withUnsafeBytes { all in
            var chunk = 0
            var offset = 0
            repeat {
                let n = min(chunkBytes, all.count - offset)
                st.reset()
                try st.bind(1, id); try st.bind(2, ordinal); try st.bind(3, chunk)
                try st.bindStatic(4, UnsafeRawBufferPointer(rebasing: all[offset..<(offset + n)]))
                try st.step()
                offset += n; chunk += 1
            } while offset < all.count
        }
    }

    static let artifactColumns = "id, kind, name, run, step, hash, size, created_at, config, code_rev, metadata, state"

    func artifacts(where clause: String, _ values: [Any?]) throws -> [ArtifactRecord] {
        let st = try db.prepare("SELECT \(Self.artifactColumns) FROM artifact \(clause)")
        try st.bind(values)
        var out: [ArtifactRecord] = []
        while try st.step() {
            out.append(ArtifactRecord(id: st.int64(0), kind: st.string(1), name: st.string(2), run: st.optionalString(3),
                                      step: st.optionalInt(4), hash: st.string(5), size: st.int(6), createdAt: st.double(7),
                                      config: st.string(8), codeRev: st.optionalString(9), metadata: st.string(10),
                                      state: st.string(11), parents: []))
        }
        let ps = try db.prepare("SELECT parent FROM lineage WHERE child = ? ORDER BY parent")
        for i in out.indices {
            ps.reset()
            try ps.bind(1, out[i].id)
            while try ps.step() { out[i].parents.append(ps.int64(0)) }
        }
        return out
    }

    /// The artifact with row id `id`.
    public func artifact(_ id: ArtifactID) throws -> ArtifactRecord {
        guard let a = try artifacts(where: "WHERE id = ?", [id]).first else {
            throw StoreError.notFound("\(path): no artifact with id \(id)")
        }
        return a
    }

    func artifactIfExists(kind: String, name: String) throws -> ArtifactRecord? {
        try artifacts(where: "WHERE kind = ? AND name = ?", [kind, name]).first
    }

    /// Artifacts filtered by kind and/or run, oldest first.
    public func artifacts(kind: String? = nil, run: String? = nil) throws -> [ArtifactRecord] {
        try artifacts(where: "WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR run = ?2) ORDER BY id", [kind, run])
    }

    /// Every tensor of a (non-bank) artifact, in stored order, checked against the artifact's
    /// content hash: altered or damaged payload bytes throw `corrupt` naming the artifact (exit 3)
    /// instead of being used.
    public func loadBlobs(_ a: ArtifactRecord) throws -> [NamedBlob] {
        let st = try db.prepare("SELECT ordinal, name, dtype, shape, nbytes FROM blob WHERE artifact = ? ORDER BY ordinal")
        try st.bind(1, a.id)
        var out: [NamedBlob] = []
        var hasher = ContentHasher(bank: false, kind: a.kind, metadata: a.metadata)
        let chunks = try db.prepare("SELECT data FROM blob_chunk WHERE artifact = ? AND ordinal = ? ORDER BY chunk")
        while try st.step() {
            let (ordinal, name, dt, nbytes) = (st.int(0), st.string(1), st.string(2), st.int(4))
            guard let dtype = SafetensorsDType(rawValue: dt), let shape = parseShape(st.string(3)) else {
                throw StoreError.corrupt(path: path, reason: "artifact \(a.id) tensor '\(name)': bad dtype or shape")
            }
            var filled = 0
            var bad = false
            chunks.reset()
            try chunks.bind(1, a.id); try chunks.bind(2, ordinal)
            let bytes = try [UInt8](unsafeUninitializedCapacity: nbytes) { buf, count in
                while try chunks.step() {
                    let b = chunks.blob(0)
                    if filled + b.count > nbytes { bad = true; break }
                    if b.count > 0 { UnsafeMutableRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(buf)[filled..<(filled + b.count)]).copyMemory(from: b) }
                    filled += b.count
                }
                count = bad ? 0 : filled
            }
            guard !bad, filled == nbytes else {
                throw StoreError.corrupt(path: path, reason: "artifact \(a.id) tensor '\(name)': stored bytes do not add up to \(nbytes)")
            }
            hasher.blobHeader(name: name, dtype: dt, shape: shape, nbytes: nbytes)
            bytes.withUnsafeBytes { hasher.bytes($0) }
            out.append(NamedBlob(name: name, dtype: dtype, shape: shape, bytes: bytes))
        }
        try checkContent(a, hash: hasher.hex(), size: out.reduce(0) { $0 + $1.bytes.count })
        return out
    }

    /// Names, dtypes and shapes of a (non-bank) artifact's tensors, without reading their bytes.
    public func tensorInfo(_ a: ArtifactRecord) throws -> [(name: String, dtype: String, shape: [Int])] {
        let st = try db.prepare("SELECT name, dtype, shape FROM blob WHERE artifact = ? ORDER BY ordinal")
        try st.bind(1, a.id)
        var out: [(String, String, [Int])] = []
        while try st.step() { out.append((st.string(0), st.string(1), parseShape(st.string(2)) ?? [])) }
        return out
    }

    /// F32 tensors whose names start with `prefix`, with the prefix removed ("" = all).
    public func loadStateDict(_ a: ArtifactRecord, prefix: String = "") throws -> StateDict {
        var sd = StateDict()
        for b in try loadBlobs(a) where b.name.hasPrefix(prefix) {
            sd[String(b.name.dropFirst(prefix.count))] = try b.tensor(file: "\(path) artifact \(a.id)")
        }
        return sd
    }

    /// The weights to sample with: `ema.*` if present, else `model.*`, else every tensor.
    public func loadSamplingWeights(_ a: ArtifactRecord) throws -> StateDict {
        let names = try blobNames(a)
        let prefix = names.contains { $0.hasPrefix("ema.") } ? "ema." : names.contains { $0.hasPrefix("model.") } ? "model." : ""
        return try loadStateDict(a, prefix: prefix)
    }

    func blobNames(_ a: ArtifactRecord) throws -> [String] {
        let st = try db.prepare("SELECT name FROM blob WHERE artifact = ? ORDER BY ordinal")
        try st.bind(1, a.id)
        var out: [String] = []
        while try st.step() { out.append(st.string(0)) }
        return out
    }
}
