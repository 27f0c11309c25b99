import NN
import TensorCore

extension ArtifactStore {
    /// Opens trajectory bank `name` for appending, creating it (state "open") if missing.
    /// `rowFloats` is the length of every row's states ((K+1) * C*H*W floats for K segments).
    /// Reopening checks that config and rowFloats match, so a resume cannot mix settings.
    @discardableResult
    public func createOrOpenBank(name: String, config: String, rowFloats: Int, run: String? = nil,
                                 parents: [ArtifactID] = []) throws -> ArtifactRecord {
        let config = try checkedJSON(config, what: "config of bank '\(name)'")
        let metadata = "{\"row_floats\":\(rowFloats)}"
        return try db.transaction {
            if let a = try artifactIfExists(kind: ArtifactKind.trajectoryBank, name: name) {
                guard a.config == config, a.metadata == metadata else {
                    throw StoreError.conflict("\(path): trajectory bank '\(name)' exists with a different config or row size; choose another name")
                }
                if a.state == "open" { try renewLease(bank: a.id) }
                return a
            }
            let id = try insertArtifactRow(kind: ArtifactKind.trajectoryBank, name: name, run: run, step: nil, hash: "",
                                           size: 0, config: config, codeRev: codeRevision, metadata: metadata,
                                           state: "open", parents: parents, createdAt: nil)
            try renewLease(bank: id)
            return try artifact(id)
        }
    }

    func rowFloats(_ bank: ArtifactRecord) throws -> Int {
        guard bank.kind == ArtifactKind.trajectoryBank, let n = (try? parseMetadata(bank))?["row_floats"]?.intValue else {
            throw StoreError.badInput(file: path, reason: "artifact '\(bank.name)' is not a trajectory bank")
        }
        return n
    }

    /// Appends rows in one transaction (all or nothing). Rows whose sample index already exists
    /// are refused unless identical (then skipped), so a resumed rollout can re-append safely.
    public func appendTrajectories(bank: ArtifactRecord, rows: [TrajectoryRow]) throws {
        let n = try rowFloats(bank)
        for r in rows where r.states.count != n {
            throw StoreError.badInput(file: bank.name, reason: "sample \(r.sample) has \(r.states.count) floats, bank rows hold \(n)")
        }
        try db.transaction {
            guard try db.scalarString("SELECT state FROM artifact WHERE id = ?", [bank.id]) == "open" else {
                throw StoreError.conflict("\(path): trajectory bank '\(bank.name)' is finalized or gone; cannot append")
            }
            let ins = try db.prepare("INSERT INTO trajectory_row(bank, sample, seed, label, guidance, states) VALUES(?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")
            let chk = try db.prepare("SELECT seed, label, guidance, states FROM trajectory_row WHERE bank = ? AND sample = ?")
            var added = 0
            for r in rows {
                ins.reset()
                try ins.bind(1, bank.id); try ins.bind(2, r.sample); try ins.bind(3, Int64(bitPattern: r.seed))
                try ins.bind(4, r.label); try ins.bind(5, Double(r.guidance))
                try r.states.withUnsafeBytes { p in
                    try ins.bindStatic(6, p)
                    try ins.step()
                }
                if db.changes == 1 { added += r.states.count * 4; continue }
                chk.reset()
                try chk.bind(1, bank.id); try chk.bind(2, r.sample)
                _ = try chk.step()
                let same = UInt64(bitPattern: chk.int64(0)) == r.seed && chk.int(1) == r.label
                    && Float(chk.double(2)) == r.guidance && r.states.withUnsafeBytes { $0.elementsEqual(chk.blob(3)) }
                if !same { throw StoreError.conflict("\(path): bank '\(bank.name)' already holds a different sample \(r.sample)") }
            }
            try db.execute("UPDATE artifact SET size = size + ? WHERE id = ?", [added, bank.id])
            try renewLease(bank: bank.id)   // the heartbeat `gc --open-banks` checks
        }
    }

    /// Sample indices already in the bank (to resume a rollout).
    public func existingSampleIndices(bank: ArtifactRecord) throws -> Set<Int> {
        let st = try db.prepare("SELECT sample FROM trajectory_row WHERE bank = ?")
        try st.bind(1, bank.id)
        var out = Set<Int>()
        while try st.step() { out.insert(st.int(0)) }
        return out
    }

    /// Computes the bank's content hash from its rows and marks it complete. Idempotent.
    /// The hash is computed outside the write transaction (other writers are not blocked while
    /// a large bank is hashed) and only recorded if no row was added meanwhile.
    @discardableResult
    public func finalizeBank(_ bank: ArtifactRecord) throws -> ArtifactRecord {
        func rowCount() throws -> Int { try db.scalarInt("SELECT COUNT(*) FROM trajectory_row WHERE bank = ?", [bank.id]) ?? 0 }
        while true {
            let a = try artifact(bank.id)
            if a.state == "complete" { return a }
            let snapshot = { () throws -> (String, Int, Int) in
                let h = try self.bankHash(a)
                return (h.0, h.1, try rowCount())
            }
            let (hash, size, rows) = db.isInTransaction ? try snapshot() : try readTransaction(snapshot)
            let done: ArtifactRecord? = try db.transaction {
                guard try rowCount() == rows else { return nil }
                try db.execute("UPDATE artifact SET hash = ?, size = ?, state = 'complete' WHERE id = ?", [hash, size, a.id])
                try db.execute("DELETE FROM bank_lease WHERE bank = ?", [a.id])
                return try artifact(a.id)
            }
            if let done { return done }
        }
    }

    /// Runs `body` in a deferred (read) transaction: one consistent snapshot, no write lock.
    func readTransaction<T>(_ body: () throws -> T) throws -> T {
        try db.execute("BEGIN DEFERRED")
        defer { try? db.execute("COMMIT") }
        return try body()
    }

    /// SHA-256 of the bank's canonical encoding and its payload size.
    func bankHash(_ a: ArtifactRecord) throws -> (String, Int) {
        var h = ContentHasher(bank: true, kind: a.kind, metadata: a.metadata)
        let st = try db.prepare("SELECT sample, seed, label, guidance, states FROM trajectory_row WHERE bank = ? ORDER BY sample")
        try st.bind(1, a.id)
        var size = 0
        while try st.step() {
            let states = st.blob(4)
            h.row(sample: st.int(0), seed: UInt64(bitPattern: st.int64(1)), label: st.int(2),
                  guidance: Float(st.double(3)), states: states)
            size += states.count
        }
        return (h.hex(), size)
    }

    /// Every row of the bank in contiguous arrays, sorted by sample index.
    public func readBank(_ bank: ArtifactRecord) throws -> TrajectoryBank {
        let n = try rowFloats(bank)
        let count = try db.scalarInt("SELECT COUNT(*) FROM trajectory_row WHERE bank = ?", [bank.id]) ?? 0
        var out = TrajectoryBank()
        out.rowFloats = n
        out.samples.reserveCapacity(count); out.seeds.reserveCapacity(count)
        out.labels.reserveCapacity(count); out.guidance.reserveCapacity(count)
        out.states = [Float](repeating: 0, count: count * n)
        let st = try db.prepare("SELECT sample, seed, label, guidance, states FROM trajectory_row WHERE bank = ? ORDER BY sample")
        try st.bind(1, bank.id)
        var hasher = ContentHasher(bank: true, kind: bank.kind, metadata: bank.metadata)
        var i = 0
        try out.states.withUnsafeMutableBytes { dst in
            while try st.step() {
                let b = st.blob(4)
                guard i < count, b.count == n * 4 else {
                    throw StoreError.corrupt(path: path, reason: "bank '\(bank.name)' row \(i) has \(b.count) bytes, expected \(n * 4)")
                }
                UnsafeMutableRawBufferPointer(rebasing: dst[(i * n * 4)..<((i + 1) * n * 4)]).copyMemory(from: b)
                out.samples.append(st.int(0)); out.seeds.append(UInt64(bitPattern: st.int64(1)))
                out.labels.append(st.int(2)); out.guidance.append(Float(st.double(3)))
                hasher.row(sample: out.samples[i], seed: out.seeds[i], label: out.labels[i], guidance: out.guidance[i], states: b)
                i += 1
            }
        }
        if i < count { out.states.removeLast((count - i) * n) }
        try checkContent(bank, hash: hasher.hex(), size: out.states.count * 4)
        return out
    }

    /// Rows of a bank as `TrajectoryRow`s (convenience over `readBank`).
    public func bankRows(_ bank: ArtifactRecord) throws -> [TrajectoryRow] {
        let b = try readBank(bank)
        return (0..<b.count).map { i in
            TrajectoryRow(sample: b.samples[i], seed: b.seeds[i], label: b.labels[i], guidance: b.guidance[i],
                          states: Array(b.states[(i * b.rowFloats)..<((i + 1) * b.rowFloats)]))
        }
    }

    func parseMetadata(_ a: ArtifactRecord) throws -> OrderedJSON {
        try OrderedJSON.parse(a.metadata)
    }
}
