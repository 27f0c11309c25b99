import CSQLite

/// A prepared statement: bind by 1-based index, `step()` through rows, read columns by 0-based index.
/// Finalized on deinit. Blobs bound with `bindStatic` must stay alive until the next `step`/`reset`.
public final class Statement {
    let handle: OpaquePointer
    let db: Database
    public let sql: String

    init(db: Database, sql: String) throws {
        var st: OpaquePointer?
        let rc = sqlite3_prepare_v2(db.handle, sql, -1, &st, nil)
        guard rc == SQLITE_OK, let st else { throw db.error(rc, sql: sql) }
        self.handle = st; self.db = db; self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    private func check(_ rc: Int32) throws { if rc != SQLITE_OK { throw db.error(rc, sql: sql) } }

    public func bind(_ i: Int32, _ v: Int64) throws { try check(sqlite3_bind_int64(handle, i, v)) }
    public func bind(_ i: Int32, _ v: Int) throws { try bind(i, Int64(v)) }
    public func bind(_ i: Int32, _ v: Double) throws { try check(sqlite3_bind_double(handle, i, v)) }
    public func bind(_ i: Int32, _ v: String) throws { try check(sqlite3_bind_text(handle, i, v, -1, csqlite_transient())) }
    public func bindNull(_ i: Int32) throws { try check(sqlite3_bind_null(handle, i)) }
    public func bind(_ i: Int32, _ v: String?) throws { if let v { try bind(i, v) } else { try bindNull(i) } }
    public func bind(_ i: Int32, _ v: Int?) throws { if let v { try bind(i, v) } else { try bindNull(i) } }

    /// Binds bytes without copying; `bytes` must stay valid until the statement is stepped and reset.
    public func bindStatic(_ i: Int32, _ bytes: UnsafeRawBufferPointer) throws {
        try check(sqlite3_bind_blob64(handle, i, bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1),
                                      sqlite3_uint64(bytes.count), csqlite_static()))
    }

    /// Binds a copy of `bytes`.
    public func bind(_ i: Int32, _ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { p in
            try check(sqlite3_bind_blob64(handle, i, p.baseAddress ?? UnsafeRawPointer(bitPattern: 1),
                                          sqlite3_uint64(p.count), csqlite_transient()))
        }
    }

    /// Binds every value in order (Int, Int64, Double, String, [UInt8], or nil for NULL).
    public func bind(_ values: [Any?]) throws {
        for (k, v) in values.enumerated() {
            let i = Int32(k + 1)
            switch v {
            case nil: try bindNull(i)
            case let x as Int: try bind(i, x)
            case let x as Int64: try bind(i, x)
            case let x as Double: try bind(i, x)
            case let x as String: try bind(i, x)
            case let x as [UInt8]: try bind(i, x)
            default: preconditionFailure("Statement.bind: unsupported value \(String(describing: v))")
            }
        }
    }

    /// Advances; true when a row is available, false when done.
    @discardableResult
    public func step() throws -> Bool {
        let rc = sqlite3_step(handle)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        throw db.error(rc, sql: sql)
    }

    /// Resets for re-execution and clears bindings.
    public func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    public func int(_ c: Int32) -> Int { Int(sqlite3_column_int64(handle, c)) }
    public func int64(_ c: Int32) -> Int64 { sqlite3_column_int64(handle, c) }
    public func double(_ c: Int32) -> Double { sqlite3_column_double(handle, c) }
    public func isNull(_ c: Int32) -> Bool { sqlite3_column_type(handle, c) == SQLITE_NULL }
    public func optionalInt(_ c: Int32) -> Int? { isNull(c) ? nil : int(c) }
    public func string(_ c: Int32) -> String {
        guard let p = sqlite3_column_text(handle, c) else { return "" }
        let n = Int(sqlite3_column_bytes(handle, c))
        return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
    }
    public func optionalString(_ c: Int32) -> String? { isNull(c) ? nil : string(c) }

    /// The blob in column `c` without copying; valid only until the next step/reset.
    public func blob(_ c: Int32) -> UnsafeRawBufferPointer {
        let p = sqlite3_column_blob(handle, c)
        let n = Int(sqlite3_column_bytes(handle, c))
        guard let p, n > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: p, count: n)
    }
}
