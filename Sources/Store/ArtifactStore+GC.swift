extension ArtifactStore {
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
