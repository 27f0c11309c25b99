import CSQLite
import Foundation

/// A thin sqlite3 connection: open (refusing files that are not SQLite), execute, prepare,
/// and short IMMEDIATE transactions retried while another process holds the write lock.
///
/// Settings: WAL journal (readers never block the writer on one machine), synchronous=NORMAL,
/// foreign keys on, a 30 s busy timeout (`BusyWait`: one line on stderr while waiting), a 32 MB page cache (a bank append batch of ~7 MB fits,
/// so its pages are not spilled to the WAL and rewritten), WAL checkpoints in the background
/// (`Checkpointer`). Use one connection from one thread at a time.
/// How a store is opened. `read` never writes (SQLITE_OPEN_READONLY: no migrations, no WAL-mode
/// switch), so it works on a read-only file or directory and never changes another program's file;
/// `write` needs an existing store; `create` also makes a missing one.
public enum StoreAccess: Sendable { case read, write, create }

public final class Database {
    let handle: OpaquePointer
    public let path: String
    /// True when opened with `.read`, or when the file or its directory is not writable: every
    /// write transaction then fails with `StoreError.readOnly`.
    public let isReadOnly: Bool
    /// What the identity check found (`StoreIdentity`), before any migration.
    private(set) var identity: StoreIdentity.Kind = .empty
    private let checkpointer: Checkpointer
    private let busyWait: BusyWait
    /// How long a statement waits for another process's lock before failing with busy (30 s, or
    /// `$FS_STORE_BUSY_TIMEOUT` seconds).
    public static var busyTimeoutMilliseconds: Int32 { Int32(BusyWait.configuredTimeout * 1000) }

    public convenience init(path: String, create: Bool) throws {
        try self.init(path: path, access: create ? .create : .write)
    }

    public init(path: String, access: StoreAccess) throws {
        // "" would be a private temporary database to SQLite: nothing would ever be stored.
        guard !path.isEmpty else { throw StoreError.badInput(file: "--store ''", reason: "empty store path") }
        var isDir: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDir)
        if isDir.boolValue { throw StoreError.badInput(file: path, reason: "is a directory, not a store file") }
        if !exists && access != .create { throw StoreError.noStore(path: path) }
        if exists { try Database.checkHeader(path) }
        // A writer on a file it may not write opens read-only: reads work, writes say why they cannot.
        let readOnly = access == .read || (exists && !Database.writable(path))
        self.isReadOnly = readOnly
        self.path = path
        var db = try Database.open(path, readOnly: readOnly, immutable: false, create: access == .create)
        if readOnly, Database.needsImmutable(db, path) {
            // Immutable reads ignore the -wal file: refuse rather than silently miss its commits.
            if let size = (try? FileManager.default.attributesOfItem(atPath: path + "-wal"))?[.size] as? Int, size > 0 {
                sqlite3_close_v2(db)
                throw StoreError.readOnly(path: path, detail: "its -wal file holds commits not yet in the store file and the directory is not writable, so SQLite cannot read them; open it once where the directory is writable")
            }
            // A WAL store in a directory we cannot write, without -shm/-wal files: SQLite can read it
            // only as immutable (nobody can be writing it there without write permission either).
            sqlite3_close_v2(db)
            db = try Database.open(path, readOnly: true, immutable: true, create: false)
        }
        self.handle = db
        self.checkpointer = Checkpointer(path: path)
        self.busyWait = BusyWait(path: path)
        busyWait.install(on: db)
        sqlite3_extended_result_codes(db, 1)
        do {
            // Identity before any write: another program's database is refused untouched.
            identity = try StoreIdentity.check(self, access: access)
            try execute("PRAGMA foreign_keys = ON")
            try execute("PRAGMA cache_size = -32768")
            if readOnly { return }
            if identity == .empty { try execute("PRAGMA page_size = 65536") }
            let mode = try retryingBusy { try self.scalarString("PRAGMA journal_mode = WAL") }
            if mode?.lowercased() != "wal" {
                throw SQLiteError(code: 0, message: "could not enable WAL (journal_mode is \(mode ?? "?"))", path: path)
            }
            try execute("PRAGMA synchronous = NORMAL")
            // A WAL grown past its usual size by a burst is cut back to 64 MB after the next reset.
            try execute("PRAGMA journal_size_limit = 67108864")
            checkpointer.install(on: db)
        } catch let e as SQLiteError where (e.code & 0xff) == SQLITE_NOTADB {
            throw StoreError.notSQLite(path: path)   // deinit closes the connection
        }
    }

    static func open(_ path: String, readOnly: Bool, immutable: Bool, create: Bool) throws -> OpaquePointer {
        var db: OpaquePointer?
        var flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0)) | SQLITE_OPEN_NOMUTEX
        var name = path
        if immutable { flags |= SQLITE_OPEN_URI; name = "file:" + uriEscaped(path) + "?immutable=1" }
        let rc = sqlite3_open_v2(name, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let msg = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(code: rc, message: msg, path: path)
        }
        return db
    }

    /// True if a read-only connection cannot read the file (WAL index cannot be created).
    static func needsImmutable(_ db: OpaquePointer, _ path: String) -> Bool {
        let rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", nil, nil, nil)
        return rc != SQLITE_OK && (rc & 0xff) != SQLITE_NOTADB && (rc & 0xff) != SQLITE_CORRUPT && (rc & 0xff) != SQLITE_BUSY
    }

    static func uriEscaped(_ path: String) -> String {
        var out = ""
        for u in path.utf8 {
            if u == UInt8(ascii: "%") || u == UInt8(ascii: "?") || u == UInt8(ascii: "#") || u < 0x20 || u >= 0x7f {
                out += String(format: "%%%02X", u)
            } else { out.unicodeScalars.append(Unicode.Scalar(u)) }
        }
        return out
    }

    /// The file and its directory (for the -wal/-shm files) are writable by this process.
    static func writable(_ path: String) -> Bool {
        let dir = (path as NSString).deletingLastPathComponent
        return access(path, W_OK) == 0 && access(dir.isEmpty ? "." : dir, W_OK) == 0
    }

    deinit {
        sqlite3_wal_hook(handle, nil, nil)
        checkpointer.drain()   // so that this close, if last, checkpoints and removes the WAL
        sqlite3_close_v2(handle)
    }

    /// WAL size in pages at which a background checkpoint starts (`soft`, default 1000) and at
    /// which the committing thread checkpoints itself (`hard`, default 8000). Tests use small values.
    public func setCheckpointPages(soft: Int, hard: Int) {
        checkpointer.softFrames = Int32(clamping: max(1, soft))
        checkpointer.hardFrames = Int32(clamping: max(soft, hard))
    }

    /// Throws `notSQLite` unless the file is empty or starts with SQLite's 16-byte magic.
    static func checkHeader(_ path: String) throws {
        guard let fh = FileHandle(forReadingAtPath: path) else { throw StoreError.notFound("\(path): cannot open for reading") }
        defer { try? fh.close() }
        let head = (try? fh.read(upToCount: 16)) ?? Data()
        if head.isEmpty { return }
        if head != Data("SQLite format 3\0".utf8) { throw StoreError.notSQLite(path: path) }
    }

    func error(_ rc: Int32, sql: String?) -> SQLiteError {
        SQLiteError(code: sqlite3_extended_errcode(handle), message: String(cString: sqlite3_errmsg(handle)), sql: sql, path: path)
    }

    /// Runs one or more statements without results.
    public func execute(_ sql: String) throws {
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &err)
        if rc != SQLITE_OK {
            let msg = err.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(err)
            throw SQLiteError(code: sqlite3_extended_errcode(handle), message: msg, sql: sql, path: path)
        }
    }

    /// Runs one statement with bound values.
    public func execute(_ sql: String, _ values: [Any?]) throws {
        let st = try prepare(sql)
        try st.bind(values)
        try st.step()
    }

    public func prepare(_ sql: String) throws -> Statement { try Statement(db: self, sql: sql) }

    /// The first column of the first row as text (nil when no row or NULL).
    public func scalarString(_ sql: String, _ values: [Any?] = []) throws -> String? {
        let st = try prepare(sql)
        try st.bind(values)
        return try st.step() ? st.optionalString(0) : nil
    }

    /// The first column of the first row as an integer (nil when no row or NULL).
    public func scalarInt(_ sql: String, _ values: [Any?] = []) throws -> Int? {
        let st = try prepare(sql)
        try st.bind(values)
        return try st.step() ? st.optionalInt(0) : nil
    }

    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
    public var changes: Int { Int(sqlite3_changes(handle)) }
    public var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// Runs `body` in BEGIN IMMEDIATE ... COMMIT, rolling back on any error. If the write lock
    /// stays busy past the busy timeout, retries a few times, then throws `StoreError.busy`.
    /// Nested calls join the outer transaction.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        if isInTransaction { return try body() }
        if isReadOnly {
            throw StoreError.readOnly(path: path, detail: Database.writable(path) ? "opened for reading"
                                      : "no write permission on the file or its directory")
        }
        try retryingBusy { try self.execute("BEGIN IMMEDIATE") }
        do {
            let result = try body()
            try retryingBusy { try self.execute("COMMIT") }
            return result
        } catch {
            if isInTransaction { try? execute("ROLLBACK") }
            throw error
        }
    }

    /// Repeats `body` while it fails with SQLITE_BUSY until one busy timeout has passed in all
    /// (the busy handler already waited; a retry only covers busy results SQLite returns at once).
    func retryingBusy<T>(_ body: () throws -> T) throws -> T {
        let deadline = BusyWait.now() + busyWait.timeoutSeconds
        while true {
            do { return try body() } catch let e as SQLiteError where e.isBusy {
                if BusyWait.now() >= deadline {
                    throw StoreError.busy(path: path, detail: "\(e.message); waited \(busyWait.timeoutText)")
                }
                usleep(50_000)
            }
        }
    }
}
