import CSQLite

/// A failed SQLite call: result code, SQLite's message, and the SQL being run (GRDB-style).
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    public var code: Int32
    public var message: String
    public var sql: String?
    public var path: String

    public init(code: Int32, message: String, sql: String? = nil, path: String) {
        self.code = code; self.message = message; self.sql = sql; self.path = path
    }

    /// True for SQLITE_BUSY / SQLITE_LOCKED (another process holds the lock; retryable).
    public var isBusy: Bool { (code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED }

    /// True for SQLITE_CORRUPT / SQLITE_NOTADB: the file itself is damaged (bad input, not retryable).
    public var isCorrupt: Bool { (code & 0xff) == SQLITE_CORRUPT || (code & 0xff) == SQLITE_NOTADB }

    public var description: String {
        var s = "\(path): SQLite error \(code): \(message)"
        if let sql { s += " - while executing `\(sql)`" }
        return s
    }
}

/// Everything the store reports to its callers, each naming the file or reference involved.
public enum StoreError: Error, CustomStringConvertible, Sendable {
    case notSQLite(path: String)
    case newerSchema(path: String, found: Int, supported: Int)
    case busy(path: String, detail: String)
    case notFound(String)
    case unknownRef(String)
    case ambiguousRef(String, candidates: [String])
    case conflict(String)
    case badInput(file: String, reason: String)
    case corrupt(path: String, reason: String)

    public var description: String {
        switch self {
        case .notSQLite(let p): return "\(p): not an SQLite database (not a FlowSteer store)"
        case let .newerSchema(p, f, s):
            return "\(p): store format version \(f) is newer than this binary supports (\(s)); update the tools"
        case let .busy(p, d): return "\(p): store is busy (locked by another process): \(d)"
        case .notFound(let s): return s
        case .unknownRef(let r): return "unknown artifact reference '\(r)'"
        case let .ambiguousRef(r, c): return "ambiguous artifact reference '\(r)': matches \(c.joined(separator: ", "))"
        case .conflict(let s): return s
        case let .badInput(f, r): return "\(f): \(r)"
        case let .corrupt(p, r): return "\(p): \(r)"
        }
    }

    /// The CLI exit code (docs/design.md): 3 bad input, 4 busy, 1 otherwise.
    public var exitCode: Int32 {
        switch self {
        case .busy: return 4
        case .notSQLite, .newerSchema, .unknownRef, .ambiguousRef, .badInput, .notFound, .conflict, .corrupt: return 3
        }
    }
}
