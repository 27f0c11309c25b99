import Foundation

/// What `gc` did.
public struct GCReport: Sendable {
    /// Orphaned rows deleted (payload rows of removed artifacts are already gone: they cascade on delete).
    public var removedRows = 0
    /// The store's bytes on disk (the file and its WAL) before and after: what compaction reclaimed.
    public var bytesBefore = 0
    public var bytesAfter = 0
    /// Open banks dropped (their writers were gone), as "KIND:NAME".
    public var droppedBanks: [String] = []
    /// Open banks kept although `dropOpenBanks` asked, with the reason (a live writer, or a child).
    public var skippedBanks: [(bank: String, reason: String)] = []
}

extension ArtifactStore {
    /// Garbage collection: deletes blob chunks, blobs, trajectory rows, lineage, tags and leases
    /// whose artifact no longer exists, and, when `dropOpenBanks`, open banks whose writer's lease
    /// expired (`liveWriter`) and that no artifact lists as a parent; `force` also drops banks with
    /// a live writer (which then fails). Then checkpoints the WAL, VACUUMs and checkpoints again.
    @discardableResult
    public func gc(dropOpenBanks: Bool = false, force: Bool = false, vacuum: Bool = true) throws -> GCReport {
        var report = GCReport()
        report.bytesBefore = bytesOnDisk()
        try db.transaction {
            if dropOpenBanks {
                for b in try artifacts(where: "WHERE state = 'open' ORDER BY id", []) {
                    let ref = Self.exactReference(b)
                    let kids = try children(of: b.id)
                    if !kids.isEmpty {
                        report.skippedBanks.append((ref, "\(kids.count) artifact(s) list it as a parent")); continue
                    }
                    if !force, let why = liveWriter(try lease(ofBank: b.id)) {
                        report.skippedBanks.append((ref, why)); continue
                    }
                    try db.execute("DELETE FROM artifact WHERE id = ?", [b.id])
                    report.removedRows += db.changes
                    report.droppedBanks.append(ref)
                }
            }
            for sql in ["DELETE FROM blob_chunk WHERE NOT EXISTS (SELECT 1 FROM blob b WHERE b.artifact = blob_chunk.artifact AND b.ordinal = blob_chunk.ordinal)",
                        "DELETE FROM blob WHERE artifact NOT IN (SELECT id FROM artifact)",
                        "DELETE FROM trajectory_row WHERE bank NOT IN (SELECT id FROM artifact)",
                        "DELETE FROM lineage WHERE child NOT IN (SELECT id FROM artifact) OR parent NOT IN (SELECT id FROM artifact)",
                        "DELETE FROM tag WHERE artifact NOT IN (SELECT id FROM artifact)",
                        "DELETE FROM bank_lease WHERE bank NOT IN (SELECT id FROM artifact WHERE state = 'open')"] {
                try db.execute(sql)
                report.removedRows += db.changes
            }
        }
        if vacuum {
            try db.retryingBusy { try db.execute("PRAGMA wal_checkpoint(TRUNCATE)") }
            try db.retryingBusy { try db.execute("VACUUM") }
            // In WAL mode VACUUM writes the new file through the log: copy it back now, so the space is free
            // when gc returns rather than when the last connection closes.
            try db.retryingBusy { try db.execute("PRAGMA wal_checkpoint(TRUNCATE)") }
        }
        report.bytesAfter = bytesOnDisk()
        return report
    }

    /// The bytes of the store's file and its write-ahead log (0 for a file that cannot be read).
    func bytesOnDisk() -> Int {
        [path, path + "-wal"].reduce(0) { sum, f in
            sum + ((try? FileManager.default.attributesOfItem(atPath: f)[.size] as? NSNumber)?.intValue ?? 0)
        }
    }
}
