import Foundation
import NN
import Testing
@testable import Store

/// Issue 24 item 10 and the probe: all-or-nothing rm, no self-merge, no store left by a failed
/// restore, whole names in `ls`, one exit code (1) for failed writes, output never onto the store.
@Suite struct CLIConsistencyTests {
    @Test func rmChecksEveryReferenceFirst() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let s = try ArtifactStore(path: dir.file("s.db"))
        try smallCheckpoint(s, run: "a", step: 1)
        #expect(errorText { try s.removeAll(refs: ["a", "nosuch"]) }.contains("nosuch"))
        #expect(try s.artifacts().count == 1)
    }

    @Test func thinFromTheCommandLine() throws {
        guard let bin = KillTests.fsStoreBinary() else { Issue.record("fs-store binary not found"); return }
        let dir = TempDir(); defer { dir.cleanup() }
        do {
            let s = try ArtifactStore(path: dir.file("s.db"))
            for step in [100, 200, 300] { try smallCheckpoint(s, run: "a", step: step, seed: Float(step)) }
        }
        var r = try runTool(bin, ["thin", "a", "--keep-last", "0", "--store", "s.db"], in: dir)
        #expect(r.status == 2 && r.stderr.contains("--keep-last must be at least 1"), "\(r.stderr)")
        r = try runTool(bin, ["thin", "a", "nosuch", "--store", "s.db"], in: dir)
        #expect(r.status == 3 && r.stderr.contains("'nosuch' has no checkpoints"), "\(r.stderr)")
        r = try runTool(bin, ["thin", "a", "--dry-run", "--json", "--store", "s.db"], in: dir)
        #expect(r.status == 0 && r.stdout.contains("\"dry_run\":true") && r.stdout.contains("a@100") && r.stdout.contains("a@200"), "\(r.stdout)")
        #expect(try ArtifactStore(path: dir.file("s.db")).artifacts(kind: "checkpoint").count == 3)
        r = try runTool(bin, ["thin", "a", "--store", "s.db"], in: dir)
        #expect(r.status == 0 && r.stdout.contains("removed checkpoint 'a@100'") && r.stdout.contains("fs-store gc"), "\(r.stdout)")
        #expect(try ArtifactStore(path: dir.file("s.db")).artifacts(kind: "checkpoint").map(\.name) == ["a@300"])
    }

    @Test func mergeIntoItselfIsRefused() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let s = try ArtifactStore(path: dir.file("s.db"))
        try smallCheckpoint(s, run: "a", step: 1)
        let text = errorText { try s.merge(shards: [dir.path + "/./s.db"]) }
        #expect(text.contains("itself"), "\(text)")
    }

    @Test func commandLineConsistency() throws {
        guard let bin = KillTests.fsStoreBinary() else { Issue.record("fs-store binary not found"); return }
        let dir = TempDir(); defer { dir.cleanup() }
        let longName = "a-really-long-artifact-name-that-used-to-be-cut-off-in-the-listing-0123456789"
        do {
            let s = try ArtifactStore(path: dir.file("s.db"))
            try smallCheckpoint(s, run: "a", step: 1)
            try s.putArtifact(kind: "image", name: longName, tensors: [floatBlob("x", 3)])
        }
        var r = try runTool(bin, ["ls", "--store", "s.db"], in: dir)
        #expect(r.status == 0 && r.stdout.contains(longName), "\(r.stdout)")
        r = try runTool(bin, ["rm", "a", "nosuch", "--store", "s.db"], in: dir)
        #expect(r.status == 3 && r.stderr.contains("nosuch"))
        r = try runTool(bin, ["show", "a", "--store", "s.db"], in: dir)
        #expect(r.status == 0, "rm removed 'a' although 'nosuch' was unknown: \(r.stderr)")
        // A restore that fails after its checksum pass (a record whose content hash is wrong) leaves no store.
        r = try runTool(bin, ["archive", "-o", "a.tar.zst", "a", "--store", "s.db"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        try rewriteManifest(dir.file("a.tar.zst"), to: dir.file("bad.tar.zst")) { $0.replacingOccurrences(of: "\"hash\":\"", with: "\"hash\":\"00") }
        r = try runTool(bin, ["restore", "bad.tar.zst", "--store", "new.db"], in: dir)
        #expect(r.status == 3, "\(r.stderr)")
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("new.db") }
        #expect(left.isEmpty, "\(left)")
        // Failed writes exit 1 wherever they go; an output onto the store itself is refused (3).
        r = try runTool(bin, ["archive", "-o", "no/such/dir/x.tar.zst", "--store", "s.db"], in: dir)
        #expect(r.status == 1 && r.stderr.contains("no/such/dir/x.tar.zst"), "\(r.status) \(r.stderr)")
        r = try runTool(bin, ["export", "a", "-o", "no/such/dir/x.safetensors", "--store", "s.db"], in: dir)
        #expect(r.status == 1 && r.stderr.contains("no/such/dir/x.safetensors"), "\(r.status) \(r.stderr)")
        r = try runTool(bin, ["archive", "-o", "s.db", "--store", "s.db"], in: dir)
        let count = try ArtifactStore(path: dir.file("s.db"), access: .read).artifacts().count
        #expect(r.status == 3 && count == 2)
    }

    /// Copies an archive with its manifest text changed by `edit` (checksums of payloads kept).
    func rewriteManifest(_ from: String, to: String, _ edit: (String) -> String) throws {
        let r = try TarReader(path: from)
        let w = try TarZstWriter(path: to)
        while let e = try r.next() {
            let bytes = e.name == ArtifactStore.manifestName ? Array(edit(String(decoding: e.bytes, as: UTF8.self)).utf8) : e.bytes
            try bytes.withUnsafeBytes { try w.add(name: e.name, bytes: $0, mtime: 0) }
        }
        try w.close()
    }
}
