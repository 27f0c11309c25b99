extension ArtifactStore {
    /// Resolves a reference, in this order:
    /// 1. a tag name; 2. `RUN@STEP` (checkpoint of run RUN at STEP); 3. `RUN` (latest complete
    /// checkpoint of run RUN); 4. an exact artifact name (restricted to `kind` when given);
    /// 5. a hex prefix (>= 4 digits) of a content hash, or `#ID` for a row id.
    /// Unknown or ambiguous references throw, listing the candidates.
    public func resolve(_ ref: String, kind: String? = nil) throws -> ArtifactRecord {
        func keep(_ a: [ArtifactRecord]) -> [ArtifactRecord] { a.filter { kind == nil || $0.kind == kind } }
        if ref.hasPrefix("#"), let id = Int64(ref.dropFirst()) { return try artifact(id) }
        if let id = try db.scalarInt("SELECT artifact FROM tag WHERE name = ?", [ref]) {
            let a = try artifact(Int64(id))
            if kind == nil || a.kind == kind { return a }
        }
        if let at = ref.lastIndex(of: "@"), let step = Int(ref[ref.index(after: at)...]) {
            let runName = String(ref[..<at])
            let found = try artifacts(where: "WHERE run = ? AND step = ? AND kind = ? AND state = 'complete' ORDER BY id DESC",
                                      [runName, step, kind ?? ArtifactKind.checkpoint])
            if let a = found.first { return a }
        }
        if kind == nil || kind == ArtifactKind.checkpoint {
            let latest = try artifacts(where: "WHERE run = ? AND kind = ? AND state = 'complete' ORDER BY step DESC, id DESC LIMIT 1",
                                       [ref, ArtifactKind.checkpoint])
            if let a = latest.first { return a }
        }
        let byName = keep(try artifacts(where: "WHERE name = ? ORDER BY id", [ref]))
        if byName.count == 1 { return byName[0] }
        if byName.count > 1 {
            throw StoreError.ambiguousRef(ref, candidates: byName.map { "\($0.kind) '\($0.name)' (\($0.shortHash))" })
        }
        let hex = ref.lowercased()
        if hex.count >= 4, hex.allSatisfy({ $0.isHexDigit }) {
            let byHash = keep(try artifacts(where: "WHERE hash >= ? AND hash < ? ORDER BY id", [hex, hex + "g"]))
            if byHash.count == 1 { return byHash[0] }
            if byHash.count > 1 {
                throw StoreError.ambiguousRef(ref, candidates: byHash.map { "\($0.kind) '\($0.name)' (\($0.shortHash))" })
            }
        }
        throw StoreError.unknownRef(kind.map { "\(ref)' of kind '\($0)" } ?? ref)
    }

    /// Artifacts that list `id` as a parent.
    public func children(of id: ArtifactID) throws -> [ArtifactRecord] {
        try artifacts(where: "WHERE id IN (SELECT child FROM lineage WHERE parent = ?) ORDER BY id", [id])
    }

    /// `id` and all of its ancestors, parents before children (ids ascending).
    public func lineageClosure(of ids: [ArtifactID]) throws -> [ArtifactID] {
        var seen = Set<ArtifactID>()
        var stack = ids
        while let id = stack.popLast() {
            guard seen.insert(id).inserted else { continue }
            stack += try artifact(id).parents
        }
        return seen.sorted()
    }

    /// Names a tag (an alias usable as a reference) for an artifact, replacing an older tag.
    public func tag(_ name: String, _ id: ArtifactID) throws {
        try db.transaction {
            _ = try artifact(id)
            try db.execute("INSERT INTO tag(name, artifact) VALUES(?, ?) ON CONFLICT(name) DO UPDATE SET artifact = excluded.artifact", [name, id])
        }
    }

    /// Removes a tag; false if there was none.
    @discardableResult
    public func untag(_ name: String) throws -> Bool {
        try db.transaction {
            try db.execute("DELETE FROM tag WHERE name = ?", [name])
            return db.changes > 0
        }
    }

    /// Tags as (name, artifact id).
    public func tags() throws -> [(name: String, artifact: ArtifactID)] {
        let st = try db.prepare("SELECT name, artifact FROM tag ORDER BY name")
        var out: [(String, ArtifactID)] = []
        while try st.step() { out.append((st.string(0), st.int64(1))) }
        return out
    }

    /// Deletes an artifact and its payload. Refuses while other artifacts list it as a parent
    /// unless `force`, which also removes those lineage links.
    public func remove(_ id: ArtifactID, force: Bool = false) throws {
        try db.transaction {
            let a = try artifact(id)
            let kids = try children(of: id)
            if !kids.isEmpty && !force {
                throw StoreError.conflict("\(path): \(a.kind) '\(a.name)' is a parent of \(kids.map { "'\($0.name)'" }.joined(separator: ", ")); use --force")
            }
            try db.execute("DELETE FROM lineage WHERE parent = ?", [id])
            try db.execute("DELETE FROM artifact WHERE id = ?", [id])
        }
    }

    /// Garbage collection: deletes blob chunks, blobs, trajectory rows, lineage and tags whose
    /// artifact no longer exists, and open (unfinalized)
    /// banks only when `dropOpenBanks`. Then checkpoints the WAL and VACUUMs. Returns rows removed.
    @discardableResult
    public func gc(dropOpenBanks: Bool = false, vacuum: Bool = true) throws -> Int {
        var removed = 0
        try db.transaction {
            if dropOpenBanks {
                try db.execute("DELETE FROM artifact WHERE state = 'open' AND id NOT IN (SELECT parent FROM lineage)")
                removed += db.changes
            }
            for sql in ["DELETE FROM blob_chunk WHERE NOT EXISTS (SELECT 1 FROM blob b WHERE b.artifact = blob_chunk.artifact AND b.ordinal = blob_chunk.ordinal)",
                        "DELETE FROM blob WHERE artifact NOT IN (SELECT id FROM artifact)",
                        "DELETE FROM trajectory_row WHERE bank NOT IN (SELECT id FROM artifact)",
                        "DELETE FROM lineage WHERE child NOT IN (SELECT id FROM artifact) OR parent NOT IN (SELECT id FROM artifact)",
                        "DELETE FROM tag WHERE artifact NOT IN (SELECT id FROM artifact)"] {
                try db.execute(sql)
                removed += db.changes
            }
        }
        if vacuum {
            try db.retryingBusy { try db.execute("PRAGMA wal_checkpoint(TRUNCATE)") }
            try db.retryingBusy { try db.execute("VACUUM") }
        }
        return removed
    }
}
