import Foundation
import Testing
@testable import Store

/// Issue 24 items 3 and 4: readers never write; another program's database is refused untouched;
/// stores made before the application_id are recognised by their tables.
@Suite struct OpeningTests {
    /// An SQLite file of another program (application_id 0, its own table).
    func foreignDatabase(_ path: String) throws {
        let db = try Database(path: path, access: .create)
        try db.execute("CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users(name) VALUES('ada')")
    }

    @Test func foreignDatabaseIsRefusedAndUntouched() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let app = dir.file("app.db")
        try foreignDatabase(app)
        let before = fileHash(app)
        for access in [StoreAccess.read, .write, .create] {
            let text = errorText { _ = try ArtifactStore(path: app, access: access) }
            #expect(text.contains("not a FlowSteer store") && text.contains("app.db"), "\(access): \(text)")
        }
        #expect(fileHash(app) == before)
        if let bin = KillTests.fsStoreBinary() {
            for args in [["ls"], ["verify"], ["init"], ["tag", "x", "y"], ["gc"]] {
                let r = try runTool(bin, args + ["--store", "app.db"], in: dir)
                #expect(r.status == 3 && r.stderr.contains("not a FlowSteer store"), "\(args): \(r.stderr)")
            }
            #expect(fileHash(app) == before)
        }
    }

    @Test func readAccessWritesNothingAndRefusesWrites() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        do { let s = try ArtifactStore(path: dir.file("s.db")); try smallCheckpoint(s, run: "r", step: 1) }
        let before = fileHash(dir.file("s.db"))
        let r = try ArtifactStore(path: dir.file("s.db"), access: .read)
        let n = try r.artifacts().count
        #expect(r.db.isReadOnly && n == 1)
        let text = errorText { try r.tag("t", 1) }
        #expect(text.contains("read-only") && (StoreError.readOnly(path: "", detail: "").exitCode == 1), "\(text)")
        #expect(fileHash(dir.file("s.db")) == before)
    }

    @Test func missingPathIsNotCreatedByReaders() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        for access in [StoreAccess.read, .write] {
            #expect(errorText { _ = try ArtifactStore(path: dir.file("none.db"), access: access) }.contains("no store at"))
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("none.db")))
    }

    @Test func legacyStoreIsReadAndMigratedByAWriter() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        do {
            let s = try ArtifactStore(path: dir.file("old.db"))
            try smallCheckpoint(s, run: "r", step: 1)
            try s.db.execute("PRAGMA application_id = 0")   // as written before the id existed
        }
        #expect(try ArtifactStore(path: dir.file("old.db"), access: .read).artifacts().count == 1)
        let w = try ArtifactStore(path: dir.file("old.db"), access: .write)
        #expect(try w.db.scalarInt("PRAGMA application_id") == Int(StoreIdentity.applicationID))
    }

    @Test func storeMissingATableIsReportedDamaged() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        do { let s = try ArtifactStore(path: dir.file("s.db")); try s.db.execute("DROP TABLE tag") }
        for access in [StoreAccess.read, .write] {
            let text = errorText { _ = try ArtifactStore(path: dir.file("s.db"), access: access) }
            #expect(text.contains("damaged store") && text.contains("tag"), "\(text)")
        }
    }

    @Test func emptyPathAndDirectoryAreRefused() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        #expect(errorText { _ = try ArtifactStore(path: "", access: .create) }.contains("empty store path"))
        #expect(errorText { _ = try ArtifactStore(path: dir.path, access: .read) }.contains("is a directory"))
    }
}
