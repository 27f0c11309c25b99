import CSQLite
import NN

/// The outcome of `verify`: SQLite's integrity check and every artifact re-hashed.
public struct VerifyReport: Sendable {
    public var integrity: [String] = []
    public var checked = 0
    public var openBanks = 0
    public var problems: [String] = []
    public var ok: Bool { integrity == ["ok"] && problems.isEmpty }
}

extension ArtifactStore {
    /// Runs `PRAGMA integrity_check` and `foreign_key_check`, then recomputes every complete
    /// artifact's content hash (streaming its chunks) and compares it with the recorded one.
    /// Open banks are checked for well-formed rows. A file SQLite finds damaged while checking
    /// (SQLITE_CORRUPT / SQLITE_NOTADB) is a problem in the report, not a thrown error.
    public func verify() throws -> VerifyReport {
        var report = VerifyReport()
        do {
            try check(into: &report)
        } catch let e as SQLiteError where e.isCorrupt {
            report.problems.append("\(path): the file is damaged (SQLite: \(e.message)); restore the store from an archive")
        }
        return report
    }

    private func check(into report: inout VerifyReport) throws {
        let ic = try db.prepare("PRAGMA integrity_check")
        while try ic.step() { report.integrity.append(ic.string(0)) }
        let fk = try db.prepare("PRAGMA foreign_key_check")
        while try fk.step() { report.problems.append("foreign key violation in table \(fk.string(0)) row \(fk.int(1))") }
        for a in try artifacts() {
            if a.kind == ArtifactKind.trajectoryBank {
                let n = try rowFloats(a)
                let bad = try db.scalarInt("SELECT COUNT(*) FROM trajectory_row WHERE bank = ? AND length(states) != ?", [a.id, n * 4]) ?? 0
                if bad > 0 { report.problems.append("bank '\(a.name)': \(bad) rows of the wrong size") }
                if a.state == "open" { report.openBanks += 1; continue }
                let (h, size) = try bankHash(a)
                if h != a.hash || size != a.size { report.problems.append("bank '\(a.name)' (#\(a.id)): content hash mismatch") }
                report.checked += 1
                continue
            }
            do {
                let h = try blobHash(a)
                if h != a.hash { report.problems.append("\(a.kind) '\(a.name)' (#\(a.id)): content hash mismatch") }
            } catch {
                report.problems.append("\(a.kind) '\(a.name)' (#\(a.id)): \(error)")
            }
            report.checked += 1
        }
    }

    /// Recomputes a tensor artifact's content hash straight from its chunk rows.
    func blobHash(_ a: ArtifactRecord) throws -> String {
        var h = ContentHasher(bank: false, kind: a.kind, metadata: a.metadata)
        let st = try db.prepare("SELECT ordinal, name, dtype, shape, nbytes FROM blob WHERE artifact = ? ORDER BY ordinal")
        try st.bind(1, a.id)
        let chunks = try db.prepare("SELECT data FROM blob_chunk WHERE artifact = ? AND ordinal = ? ORDER BY chunk")
        var total = 0
        while try st.step() {
            guard let shape = parseShape(st.string(3)) else { throw StoreError.corrupt(path: path, reason: "bad shape") }
            let nbytes = st.int(4)
            h.blobHeader(name: st.string(1), dtype: st.string(2), shape: shape, nbytes: nbytes)
            chunks.reset()
            try chunks.bind(1, a.id); try chunks.bind(2, st.int(0))
            var got = 0
            while try chunks.step() { let b = chunks.blob(0); h.bytes(b); got += b.count }
            if got != nbytes { throw StoreError.corrupt(path: path, reason: "tensor '\(st.string(1))' has \(got) of \(nbytes) bytes") }
            total += nbytes
        }
        if total != a.size { throw StoreError.corrupt(path: path, reason: "payload is \(total) bytes, recorded \(a.size)") }
        return h.hex()
    }
}
