/// Ordered, named schema migrations. Each runs once, in a transaction, and is recorded in
/// `schema_migration`; the store's format version is the number of migrations applied.
/// A shipped migration is never edited: add a new one at the end.
enum Migrations {
    static let all: [(name: String, sql: String)] = [
        ("v1-core", """
        CREATE TABLE run(
            name TEXT PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL,
            config TEXT NOT NULL DEFAULT '{}', code_rev TEXT,
            created_at REAL NOT NULL, updated_at REAL NOT NULL);
        CREATE TABLE artifact(
            id INTEGER PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, run TEXT, step INTEGER,
            hash TEXT NOT NULL, size INTEGER NOT NULL, created_at REAL NOT NULL,
            config TEXT NOT NULL DEFAULT '{}', code_rev TEXT, metadata TEXT NOT NULL DEFAULT '{}',
            state TEXT NOT NULL DEFAULT 'complete', UNIQUE(kind, name));
        CREATE INDEX artifact_by_run ON artifact(run, kind, step);
        CREATE INDEX artifact_by_hash ON artifact(hash);
        CREATE INDEX artifact_by_name ON artifact(name);
        CREATE TABLE lineage(
            child INTEGER NOT NULL REFERENCES artifact(id) ON DELETE CASCADE,
            parent INTEGER NOT NULL REFERENCES artifact(id) ON DELETE RESTRICT,
            PRIMARY KEY(child, parent));
        CREATE INDEX lineage_by_parent ON lineage(parent);
        CREATE TABLE blob(
            artifact INTEGER NOT NULL REFERENCES artifact(id) ON DELETE CASCADE,
            ordinal INTEGER NOT NULL, name TEXT NOT NULL, dtype TEXT NOT NULL, shape TEXT NOT NULL,
            nbytes INTEGER NOT NULL, PRIMARY KEY(artifact, ordinal), UNIQUE(artifact, name));
        CREATE TABLE blob_chunk(
            artifact INTEGER NOT NULL, ordinal INTEGER NOT NULL, chunk INTEGER NOT NULL, data BLOB NOT NULL,
            FOREIGN KEY(artifact, ordinal) REFERENCES blob(artifact, ordinal) ON DELETE CASCADE);
        CREATE UNIQUE INDEX blob_chunk_key ON blob_chunk(artifact, ordinal, chunk);
        CREATE TABLE trajectory_row(
            bank INTEGER NOT NULL REFERENCES artifact(id) ON DELETE CASCADE,
            sample INTEGER NOT NULL, seed INTEGER NOT NULL, label INTEGER NOT NULL,
            guidance REAL NOT NULL, states BLOB NOT NULL, PRIMARY KEY(bank, sample));
        CREATE TABLE metric(
            run TEXT NOT NULL, step INTEGER NOT NULL, name TEXT NOT NULL, value REAL, time REAL NOT NULL);
        CREATE INDEX metric_by_run ON metric(run, name, step);
        CREATE TABLE tag(name TEXT PRIMARY KEY, artifact INTEGER NOT NULL REFERENCES artifact(id) ON DELETE CASCADE);
        """),
        // Liveness leases of open trajectory banks: the writer refreshes its row with every append,
        // and `gc --open-banks` drops only banks whose writer is gone (docs/store.md).
        ("v2-bank-lease", """
        CREATE TABLE bank_lease(
            bank INTEGER PRIMARY KEY REFERENCES artifact(id) ON DELETE CASCADE,
            pid INTEGER NOT NULL, host TEXT NOT NULL, heartbeat REAL NOT NULL);
        """),
    ]

    /// The tables a store of format `version` has (to detect a damaged store).
    static func tables(upTo version: Int) -> Set<String> {
        var t: Set<String> = version >= 1 ? ["run", "artifact", "lineage", "blob", "blob_chunk", "trajectory_row", "metric", "tag", "schema_migration"] : []
        if version >= 2 { t.insert("bank_lease") }
        return t
    }

    /// The newest format version this binary knows.
    static var formatVersion: Int { all.count }

    /// Applies missing migrations and sets the store's application_id (`StoreIdentity`); throws
    /// `newerSchema` for a store written by a newer binary. A read-only store is only checked.
    static func migrate(_ db: Database) throws {
        let current = try db.scalarInt("PRAGMA user_version") ?? 0
        if current > formatVersion { throw StoreError.newerSchema(path: db.path, found: current, supported: formatVersion) }
        let idSet = db.identity == .store
        if (current == formatVersion && idSet) || db.isReadOnly { return }
        try db.transaction {
            try db.execute("PRAGMA application_id = \(StoreIdentity.applicationID)")
            try db.execute("CREATE TABLE IF NOT EXISTS schema_migration(id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)")
            let applied = try db.scalarInt("SELECT COALESCE(MAX(id), 0) FROM schema_migration") ?? 0
            let userVersion = try db.scalarInt("PRAGMA user_version") ?? 0
            let found = max(applied, userVersion)
            if found > formatVersion {
                throw StoreError.newerSchema(path: db.path, found: found, supported: formatVersion)
            }
            for (i, m) in all.enumerated() where i + 1 > applied {
                try db.execute(m.sql)
                try db.execute("INSERT INTO schema_migration(id, name, applied_at) VALUES(?, ?, ?)", [i + 1, m.name, timestampNow()])
            }
            try db.execute("PRAGMA user_version = \(formatVersion)")
        }
    }
}
