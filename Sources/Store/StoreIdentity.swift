/// Recognises a FlowSteer store before anything is written to the file.
///
/// A store carries SQLite's `PRAGMA application_id` = 0x46535354 ("FSST"; `file(1)` and other
/// tools can read it at byte offset 68 of the header). Stores created before the id was set have
/// application_id 0 and are recognised by their tables (`artifact` and `schema_migration`): a
/// reader accepts them, a writer sets the id when it migrates. Any other SQLite database (another
/// program's file) is refused with "not a FlowSteer store" and left untouched; a store missing one
/// of its tables is reported as damaged.
enum StoreIdentity {
    static let applicationID: Int32 = 0x4653_5354

    enum Kind: Equatable { case store, legacyStore, empty }

    /// Classifies the open file; throws `notAStore` for a foreign or damaged one.
    static func check(_ db: Database, access: StoreAccess) throws -> Kind {
        let id = Int32(truncatingIfNeeded: try db.scalarInt("PRAGMA application_id") ?? 0)
        var tables = Set<String>()
        let st = try db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        while try st.step() { tables.insert(st.string(0)) }
        let kind: Kind
        if id == applicationID {
            kind = .store
        } else if id != 0 {
            throw StoreError.notAStore(path: db.path, reason: String(format: "SQLite application_id 0x%08x, a store has 0x%08x", id, applicationID))
        } else if tables.isEmpty {
            kind = .empty
        } else if tables.contains("artifact") && tables.contains("schema_migration") {
            kind = .legacyStore
        } else {
            throw StoreError.notAStore(path: db.path, reason: "an SQLite database with other tables (\(tables.sorted().prefix(5).joined(separator: ", ")))")
        }
        if kind == .empty {
            if access == .read { throw StoreError.notAStore(path: db.path, reason: "an empty database; `fs-store init` makes it a store") }
            return kind
        }
        let version = try db.scalarInt("PRAGMA user_version") ?? 0
        let missing = Migrations.tables(upTo: min(version, Migrations.formatVersion)).subtracting(tables)
        if !missing.isEmpty {
            throw StoreError.corrupt(path: db.path, reason: "damaged store: table(s) \(missing.sorted().joined(separator: ", ")) missing (format version \(version)); restore it from an archive")
        }
        return kind
    }
}
