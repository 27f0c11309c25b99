import CSQLite
import Foundation

/// A thin sqlite3 connection: open (refusing files that are not SQLite), execute, prepare,
/// and short IMMEDIATE transactions retried while another process holds the write lock.
///
/// Settings: WAL journal (readers never block the writer on one machine), synchronous=NORMAL,
/// foreign keys on, a 30 s busy timeout, a 32 MB page cache (a bank append batch of ~7 MB fits,
/// so its pages are not spilled to the WAL and rewritten), WAL checkpoints in the background
/// (`Checkpointer`). Use one connection from one thread at a time.
public final class Database {
    let handle: OpaquePointer
    public let path: String
    private let checkpointer: Checkpointer
    /// How long a statement waits for another process's lock before failing with busy.
    public static let busyTimeoutMilliseconds: Int32 = 30_000

    public init(path: String, create: Bool) throws {
        let exists = FileManager.default.fileExists(atPath: path)
        if !exists && !create { throw StoreError.notFound("\(path): no such store (run `fs-store init` or pass --store)") }
        if exists { try Database.checkHeader(path) }
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let msg = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(code: rc, message: msg, path: path)
        }
        self.handle = db
        self.path = path
        self.checkpointer = Checkpointer(path: path)
        sqlite3_busy_timeout(db, Database.busyTimeoutMilliseconds)
        sqlite3_extended_result_codes(db, 1)
        do {
            if !exists { try execute("PRAGMA page_size = 65536") }
            try execute("PRAGMA foreign_keys = ON")
            let mode = try retryingBusy { try self.scalarString("PRAGMA journal_mode = WAL") }
            if mode?.lowercased() != "wal" {
                throw SQLiteError(code: 0, message: "could not enable WAL (journal_mode is \(mode ?? "?"))", path: path)
            }
            try execute("PRAGMA synchronous = NORMAL")
            try execute("PRAGMA cache_size = -32768")
            // A WAL grown past its usual size by a burst is cut back to 64 MB after the next reset.
            try execute("PRAGMA journal_size_limit = 67108864")
            checkpointer.install(on: db)
        } catch let e as SQLiteError where (e.code & 0xff) == SQLITE_NOTADB {
            throw StoreError.notSQLite(path: path)
        }
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

    /// Repeats `body` while it fails with SQLITE_BUSY (each attempt already waited busy_timeout).
    func retryingBusy<T>(attempts: Int = 4, _ body: () throws -> T) throws -> T {
        var last: SQLiteError?
        for _ in 0..<attempts {
            do { return try body() } catch let e as SQLiteError where e.isBusy {
                last = e
                usleep(50_000)
            }
        }
        throw StoreError.busy(path: path, detail: last?.message ?? "database is locked")
    }
}
