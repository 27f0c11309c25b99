import Foundation
import NN

extension ArtifactStore {
    /// Folds shard stores (written by parallel jobs) into this one in a single transaction:
    /// runs and metrics, every artifact (re-hashed on the way: a corrupt shard aborts the whole
    /// merge), lineage remapped to new ids. Trajectory banks of the same name are combined row by
    /// row (duplicate sample indices must be identical) and finalized when every shard's copy was.
    /// Artifacts already present with equal content are skipped; different ones of the same
    /// kind and name abort the merge with nothing changed.
    @discardableResult
    public func merge(shards: [String]) throws -> RestoreSummary {
        var summary = RestoreSummary()
        for shard in shards where Self.sameFile(shard, path) {
            throw StoreError.badInput(file: shard, reason: "is the store being merged into (\(path)); merging a store into itself is refused")
        }
        // Shards are only read: opened read-only, so a shard is never migrated or otherwise changed.
        let sources = try shards.map { try ArtifactStore(path: $0, access: .read) }
        try db.transaction {
            var bankComplete: [String: Bool] = [:]
            for s in sources {
                let runs = try s.runs().map { r in try s.runJSON(r) }
                summary.runs += try importRuns(runs, metrics: &summary.metrics)
                var idMap: [ArtifactID: ArtifactID] = [:]
                for a in try s.artifacts() {
                    let parents = try a.parents.map { p -> ArtifactID in
                        guard let m = idMap[p] else { throw StoreError.corrupt(path: s.path, reason: "'\(a.name)' names missing parent \(p)") }
                        return m
                    }
                    if a.kind == ArtifactKind.trajectoryBank {
                        idMap[a.id] = try mergeBank(a, from: s, parents: parents, complete: &bankComplete)
                        summary.added += 1
                        continue
                    }
                    let existed = try artifactIfExists(kind: a.kind, name: a.name)
                    let stored = try storePayload(s.payload(a), like: a, parents: parents, source: s.path)
                    if existed != nil { summary.alreadyPresent += 1 } else { summary.added += 1 }
                    idMap[a.id] = stored.id
                }
            }
            for (name, complete) in bankComplete where complete {
                if let b = try artifactIfExists(kind: ArtifactKind.trajectoryBank, name: name) { try finalizeBank(b) }
            }
        }
        return summary
    }

    /// Both paths name the same existing file (device and inode), however spelled or linked.
    public static func sameFile(_ a: String, _ b: String) -> Bool {
        var sa = stat(), sb = stat()
        guard stat(a, &sa) == 0, stat(b, &sb) == 0 else { return false }
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
    }

    func mergeBank(_ a: ArtifactRecord, from s: ArtifactStore, parents: [ArtifactID],
                   complete: inout [String: Bool]) throws -> ArtifactID {
        if a.state == "complete" {
            let (h, _) = try s.bankHash(a)
            guard h == a.hash else { throw StoreError.corrupt(path: s.path, reason: "bank '\(a.name)': rows do not match its content hash") }
        }
        let n = try s.rowFloats(a)
        let bank = try createOrOpenBank(name: a.name, config: a.config, rowFloats: n, run: a.run, parents: parents)
        if bank.state == "complete" {
            try db.execute("UPDATE artifact SET state = 'open', hash = '' WHERE id = ?", [bank.id])
            complete[a.name] = complete[a.name] ?? true
        }
        for p in parents { try db.execute("INSERT OR IGNORE INTO lineage(child, parent) VALUES(?, ?)", [bank.id, p]) }
        let rows = try s.bankRows(a)
        for start in stride(from: 0, to: rows.count, by: 1024) {
            try appendTrajectories(bank: bank, rows: Array(rows[start..<min(rows.count, start + 1024)]))
        }
        complete[a.name] = (complete[a.name] ?? true) && a.state == "complete"
        return bank.id
    }

    func runJSON(_ r: RunRecord) throws -> OrderedJSON {
        let ms = try metrics(run: r.name).map { m in
            OrderedJSON.array([OrderedJSON(m.step), .string(m.name), OrderedJSON(m.value), OrderedJSON(m.time)])
        }
        return .object([("name", .string(r.name)), ("kind", .string(r.kind)), ("status", .string(r.status)),
                         ("config", .string(r.config)), ("code_rev", r.codeRev.map { .string($0) } ?? .null),
                         ("created_at", OrderedJSON(r.createdAt)), ("metrics", .array(ms))])
    }
}
