import Foundation
import Testing
@testable import Store

/// `fs-store` end to end: exit codes, messages naming the file, byte-identical round trips.
@Suite struct CLITests {
    /// The suite's runner: the shared `runTool` (TestHelpers.swift).
    func run(_ bin: String, _ args: [String], in dir: TempDir) throws -> ToolRun { try runTool(bin, args, in: dir) }

    @Test func exitCodesMessagesAndRoundTrips() throws {
        guard let bin = KillTests.fsStoreBinary() else {
            Issue.record("fs-store binary not found; build it first (swift build --product fs-store)")
            return
        }
        let dir = TempDir(); defer { dir.cleanup() }
        writeBytes(PyTorchFixture.bytes, to: dir.file("pt.safetensors"))
        var r = try run(bin, ["import", "pt.safetensors", "--name", "pt", "--run", "teacher", "--store", "s.db"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        r = try run(bin, ["export", "teacher", "-o", "back.safetensors", "--store", "s.db"], in: dir)
        #expect(r.status == 0 && readBytes(dir.file("back.safetensors")) == PyTorchFixture.bytes)
        r = try run(bin, ["archive", "-o", "a.tar.zst", "--store", "s.db", "--json"], in: dir)
        #expect(r.status == 0 && r.stdout.contains("\"artifacts\":1"))
        r = try run(bin, ["restore", "a.tar.zst", "--store", "t.db"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        r = try run(bin, ["export", "pt", "-o", "again.safetensors", "--store", "t.db"], in: dir)
        #expect(r.status == 0 && readBytes(dir.file("again.safetensors")) == PyTorchFixture.bytes)
        r = try run(bin, ["verify", "--store", "t.db", "--json"], in: dir)
        #expect(r.status == 0 && r.stdout.contains("\"ok\":true"))

        // Bad inputs: exit 3, the file named, nothing created.
        writeBytes(Array(readBytes(dir.file("a.tar.zst")).prefix(200)), to: dir.file("cut.tar.zst"))
        r = try run(bin, ["restore", "cut.tar.zst", "--store", "new.db"], in: dir)
        #expect(r.status == 3 && r.stderr.contains("cut.tar.zst"))
        #expect(!FileManager.default.fileExists(atPath: dir.file("new.db")))
        writeBytes(Array(PyTorchFixture.bytes.prefix(100)), to: dir.file("cut.safetensors"))
        r = try run(bin, ["import", "cut.safetensors", "--name", "x", "--store", "s.db"], in: dir)
        #expect(r.status == 3 && r.stderr.contains("cut.safetensors") && r.stderr.contains("past the end"))
        writeBytes(Array("not sqlite at all, just some text here".utf8), to: dir.file("junk.db"))
        r = try run(bin, ["ls", "--store", "junk.db"], in: dir)
        #expect(r.status == 3 && r.stderr.contains("junk.db") && r.stderr.contains("not an SQLite database"))
        r = try run(bin, ["show", "nosuchref", "--store", "s.db"], in: dir)
        #expect(r.status == 3 && r.stderr.contains("nosuchref"))
        r = try run(bin, ["ls", "--bogus"], in: dir)
        #expect(r.status == 2 && r.stderr.hasPrefix("fs-store: Unknown option '--bogus'"), "\(r.stderr)")
        r = try run(bin, ["ls"], in: dir)  // default ./flowsteer.db does not exist here
        #expect(r.status == 3 && r.stderr.contains("flowsteer.db"))
    }
}
