import Foundation
import NN

/// The FlowSteer artifact store: one SQLite file holding runs, metrics, artifacts (tensor
/// payloads with lineage) and trajectory banks. See docs/store.md for the schema and the CLI.
///
/// Public API (all methods throw `StoreError` or `SQLiteError`, whose messages name the file):
///
///     init(path: String, create: Bool = true, codeRevision: String? = nil)   (nil: CodeRevision.current)
///     init(path: String, access: .read | .write | .create)   (.read: SQLITE_OPEN_READONLY, no migration)
///     // runs and metrics
///     beginRun(name:kind:config:)                        -> RunRecord   (creates or reopens, status running)
///     setRunStatus(_ run: String, _ status: String)
///     run(_ name: String) -> RunRecord?;  runs() -> [RunRecord]
///     recordMetric(run:step:name:value:);  recordMetrics(run:_ points: [MetricPoint])   (one transaction)
///     metrics(run:name:) -> [MetricPoint]
///     // artifacts (each put is one transaction: invisible until committed)
///     putArtifact(kind:name:run:step:tensors: [NamedBlob], metadata:config:parents:codeRev:) -> ArtifactRecord
///     putArtifact(kind:name:run:step:stateDict: StateDict, metadata:config:parents:)  -> ArtifactRecord
///     putCheckpoint(run:step:model:ema:optM:optV:metadata:config:parents:)             -> ArtifactRecord
///     artifact(_ id: ArtifactID) -> ArtifactRecord;  artifacts(kind:run:) -> [ArtifactRecord]
///     resolve(_ ref: String, kind: String? = nil) -> ArtifactRecord
///         ref = #ID | KIND:NAME | tag | RUN@STEP | RUN (latest checkpoint) | name | hex hash prefix (>= 4);
///         all readings must agree, else ambiguousRef listing exact KIND:NAME references
///     loadBlobs(_ a: ArtifactRecord) -> [NamedBlob];  loadStateDict(_ a:, prefix: "ema.") -> StateDict
///     loadSamplingWeights(_ a:) -> StateDict   (ema.*, else model.*, else all F32 tensors)
///         (every payload read re-hashes it: bytes altered inside the store throw `corrupt`)
///     children(of:) / lineage(of:) ;  remove(_ id:) ; removeAll(refs:force:) ; tag(_ name:, _ id:)
///     gc(dropOpenBanks:force:) -> GCReport (open banks only when their writer's lease expired) ; verify()
///     // trajectory banks
///     createOrOpenBank(name:config:rowFloats:run:parents:) -> ArtifactRecord   (state "open")
///     appendTrajectories(bank:rows:)            (one transaction per call: a kill loses <= 1 batch)
///     existingSampleIndices(bank:) -> Set<Int>;  finalizeBank(_:) -> ArtifactRecord (computes hash)
///     readBank(_:) -> TrajectoryBank            (contiguous arrays sorted by sample)
///     // moving data between stores
///     exportSafetensors(_ a:, to path:);  importSafetensors(path:name:run:) -> ArtifactRecord
///     archive(refs:to:) -> ArchiveSummary;  restore(archive:) -> RestoreSummary;  merge(shards:) -> MergeSummary
///
/// Concurrency: WAL mode plus a 30 s busy timeout and short IMMEDIATE transactions, so several
/// processes on one machine may read while one writes. Do not share a store over NFS/Lustre:
/// write per-job shard stores and `merge` them. One `ArtifactStore` is for one thread at a time.
public final class ArtifactStore {
    public let db: Database
    public var path: String { db.path }
    /// Recorded with every artifact and run unless a call passes its own: the one given at init, else
    /// `CodeRevision.current`, computed on first use (hashing the executable costs ~10 ms, so commands that
    /// only read never pay it).
    public var codeRevision: String? {
        get { givenRevision ?? CodeRevision.current }
        set { givenRevision = newValue }
    }
    private var givenRevision: String?
    /// Bytes per stored chunk row for large tensors (8 MB; smaller values only for tests).
    public var chunkBytes = 8 << 20

    public convenience init(path: String, create: Bool = true,
                            codeRevision: String? = nil) throws {
        try self.init(path: path, access: create ? .create : .write, codeRevision: codeRevision)
    }

    /// Opens the store at `path`: `.read` for commands that only read (works on a read-only file,
    /// writes nothing, not even a migration), `.write` for an existing store, `.create` to make one.
    public init(path: String, access: StoreAccess,
                codeRevision: String? = nil) throws {
        db = try Database(path: path, access: access)
        givenRevision = codeRevision
        do {
            try Migrations.migrate(db)
        } catch let e as SQLiteError where (e.code & 0xff) == 26 {
            throw StoreError.notSQLite(path: path)
        }
    }

    /// The store's schema format version and the newest this binary supports.
    public func formatVersion() throws -> (store: Int, supported: Int) {
        (try db.scalarInt("PRAGMA user_version") ?? 0, Migrations.formatVersion)
    }

    // MARK: runs

    /// Creates run `name` (or reopens it, updating kind/config when given) with status running.
    @discardableResult
    public func beginRun(name: String, kind: String, config: String = "{}") throws -> RunRecord {
        let t = timestampNow()
        try db.transaction {
            try db.execute("""
                INSERT INTO run(name, kind, status, config, code_rev, created_at, updated_at) VALUES(?, ?, 'running', ?, ?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, status = 'running', config = excluded.config,
                    code_rev = excluded.code_rev, updated_at = excluded.updated_at
                """, [name, kind, config, codeRevision, t, t])
        }
        return try run(name)!
    }

    public func setRunStatus(_ run: String, _ status: String) throws {
        try db.transaction {
            try db.execute("UPDATE run SET status = ?, updated_at = ? WHERE name = ?", [status, timestampNow(), run])
            if db.changes == 0 { throw StoreError.notFound("\(path): no run named '\(run)'") }
        }
    }

    public func run(_ name: String) throws -> RunRecord? {
        try runs(where: "WHERE name = ?", [name]).first
    }

    public func runs() throws -> [RunRecord] { try runs(where: "ORDER BY created_at, name", []) }

    func runs(where clause: String, _ values: [Any?]) throws -> [RunRecord] {
        let st = try db.prepare("SELECT name, kind, status, config, code_rev, created_at, updated_at FROM run \(clause)")
        try st.bind(values)
        var out: [RunRecord] = []
        while try st.step() {
            out.append(RunRecord(name: st.string(0), kind: st.string(1), status: st.string(2), config: st.string(3),
                                 codeRev: st.optionalString(4), createdAt: st.double(5), updatedAt: st.double(6)))
        }
        return out
    }

    // MARK: metrics

    public func recordMetric(run: String, step: Int, name: String, value: Double) throws {
        try recordMetrics(run: run, [MetricPoint(step: step, name: name, value: value)])
    }

    /// Appends points in one transaction.
    public func recordMetrics(run: String, _ points: [MetricPoint]) throws {
        try db.transaction {
            let st = try db.prepare("INSERT INTO metric(run, step, name, value, time) VALUES(?, ?, ?, ?, ?)")
            for p in points {
                st.reset()
                try st.bind([run, p.step, p.name, p.value.isFinite ? p.value : nil, p.time])
                try st.step()
            }
        }
    }

    /// The run's metrics ordered by step then time (one name, or all).
    public func metrics(run: String, name: String? = nil) throws -> [MetricPoint] {
        let st = try db.prepare("SELECT step, name, value, time FROM metric WHERE run = ?1 AND (?2 IS NULL OR name = ?2) ORDER BY step, time, name")
        try st.bind([run, name])
        var out: [MetricPoint] = []
        while try st.step() {
            out.append(MetricPoint(step: st.int(0), name: st.string(1), value: st.isNull(2) ? .nan : st.double(2), time: st.double(3)))
        }
        return out
    }
}
