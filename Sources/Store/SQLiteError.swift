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
    /// An SQLite file that is not a FlowSteer store (another program's database), or a damaged one.
    case notAStore(path: String, reason: String)
    /// A read (or a write to an existing store) named a path where no store exists.
    case noStore(path: String)
    /// A write to a store opened read-only (no write permission on the file or its directory).
    case readOnly(path: String, detail: String)
    /// An output file (archive, export) or the store could not be written: exit 1 like any I/O failure.
    case writeFailed(path: String, reason: String)
    case newerSchema(path: String, found: Int, supported: Int)
    case busy(path: String, detail: String)
    case notFound(String)
    /// An unknown reference, with the nearest existing references (exact forms) to suggest.
    case unknownRef(String, near: [String] = [])
    case ambiguousRef(String, candidates: [String])
    case conflict(String)
    case badInput(file: String, reason: String)
    case corrupt(path: String, reason: String)

    public var description: String {
        switch self {
        case .notSQLite(let p): return "\(p): not an SQLite database (not a FlowSteer store)"
        case let .notAStore(p, r): return "\(p): not a FlowSteer store (\(r)); the file was not changed"
        case .noStore(let p): return "no store at \(p) (run `fs-store init`, or pass --store PATH / set $FS_STORE)"
        case let .readOnly(p, d): return "\(p): store is read-only (\(d)); nothing was written"
        case let .writeFailed(p, r): return "\(p): cannot write: \(r)"
        case let .newerSchema(p, f, s):
            return "\(p): store format version \(f) is newer than this binary supports (\(s)); update the tools"
        case let .busy(p, d): return "\(p): store is busy (locked by another process): \(d)"
        case .notFound(let s): return s
        case let .unknownRef(r, near):
            return "unknown artifact reference '\(r)'" + (near.isEmpty ? "; `fs-store ls` lists what exists"
                                                                      : "; nearest: \(near.joined(separator: ", "))")
        case let .ambiguousRef(r, c): return "ambiguous artifact reference '\(r)': matches \(c.joined(separator: ", "))"
        case .conflict(let s): return s
        case let .badInput(f, r): return "\(f): \(r)"
        case let .corrupt(p, r): return "\(p): \(r)"
        }
    }

    /// The CLI exit code (docs/operations.md): 3 bad input, 4 busy, 1 for writes that failed
    /// (read-only store, unwritable output file: the same failure wherever the bytes were going).
    public var exitCode: Int32 {
        switch self {
        case .busy: return 4
        case .readOnly, .writeFailed: return 1
        case .notSQLite, .notAStore, .noStore, .newerSchema, .unknownRef, .ambiguousRef, .badInput, .notFound, .conflict, .corrupt: return 3
        }
    }
}
