import Foundation
import Testing
@testable import Store

/// Issue 24 item 6 and the hostile-archive probe: entries are checked at their header (declared
/// size against a cap and the free space, regular files with plain names only) and read streaming.
@Suite struct RestoreLimitTests {
    /// One ustar header block (plus `data` padded to 512 bytes).
    static func tarEntry(_ name: String, type: Character = "0", size: Int, link: String = "", data: [UInt8] = []) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: 512)
        func put(_ s: String, _ at: Int) { for (i, b) in s.utf8.enumerated() { h[at + i] = b } }
        put(name, 0); put("0000644", 100); put("0000000", 108); put("0000000", 116)
        put(String(format: "%011o", min(size, 0o77777777777)), 124); put("00000000000", 136)
        h[156] = UInt8(ascii: type.asciiValue.map { Unicode.Scalar($0) } ?? "0")
        put(link, 157); put("ustar", 257); put("00", 263)
        for i in 148..<156 { h[i] = 32 }
        put(String(format: "%06o", h.reduce(0) { $0 + Int($1) }) + "\0 ", 148)
        return h + data + [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
    }

    /// A pax record header declaring `size` for the next entry, then that entry's header.
    static func bomb(size: Int) -> [UInt8] {
        var rec = " size=\(size)\n"
        rec = "\(rec.utf8.count + String(rec.utf8.count + 2).count)" + rec
        return tarEntry("PaxHeader/x", type: "x", size: rec.utf8.count, data: Array(rec.utf8))
            + tarEntry("artifacts/1.safetensors", size: 0) + [UInt8](repeating: 0, count: 4096)
    }

    @Test func hugeDeclaredEntryIsRefusedBeforeReading() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        writeBytes(Self.bomb(size: 10_000_000_000_000), to: dir.file("bomb.tar"))
        let text = errorText { _ = try ArtifactStore.checkArchive(dir.file("bomb.tar"), into: dir.file("s.db")) }
        #expect(text.contains("10000000000000") && text.contains("bomb.tar"), "\(text)")
        let s = try ArtifactStore(path: dir.file("s.db"))
        #expect(errorText { try s.restore(archive: dir.file("bomb.tar")) }.contains("refused before reading"))
    }

    @Test func linksAndDotDotPathsAreRefused() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let end = [UInt8](repeating: 0, count: 1024)
        writeBytes(Self.tarEntry("artifacts/1.safetensors", type: "2", size: 0, link: "/etc/passwd") + end, to: dir.file("link.tar"))
        writeBytes(Self.tarEntry("../manifest.json", size: 2, data: Array("{}".utf8)) + end, to: dir.file("dots.tar"))
        #expect(errorText { _ = try ArtifactStore.checkArchive(dir.file("link.tar")) }.contains("not a regular file"))
        #expect(errorText { _ = try ArtifactStore.checkArchive(dir.file("dots.tar")) }.contains("'..' path"))
    }

    @Test func streamedRestoreStoresEveryChunkAndRow() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let s = try ArtifactStore(path: dir.file("s.db"))
        let big = NamedBlob(name: "big", dtype: .F32, shape: [250_000], bytes: (0..<250_000).map { Float($0) }.withUnsafeBytes { [UInt8]($0) })
        let a = try s.putArtifact(kind: "checkpoint", name: "big@1", run: "big", step: 1, tensors: [big, floatBlob("small", 3), floatBlob("empty", 0)])
        let b = try s.createOrOpenBank(name: "bank", config: "{}", rowFloats: 3, parents: [a.id])
        try s.appendTrajectories(bank: b, rows: (0..<2500).map { TrajectoryRow(sample: $0, seed: UInt64($0), label: $0 % 10, guidance: 1.5, states: [Float($0), 1, 2]) })
        try s.finalizeBank(b)
        try s.archive(refs: [], to: dir.file("a.tar.zst"))
        let t = try ArtifactStore(path: dir.file("t.db"))
        t.chunkBytes = 64_000   // many chunk rows per tensor
        #expect(try t.restore(archive: dir.file("a.tar.zst")).added == 2)
        #expect(try t.loadBlobs(t.resolve("big@1")).map(\.bytes) == s.loadBlobs(a).map(\.bytes))
        #expect(try t.bankRows(t.resolve("bank")) == s.bankRows(s.resolve("bank")))
        #expect(try t.db.scalarInt("SELECT COUNT(*) FROM blob_chunk") ?? 0 > 15)
        #expect(try t.verify().ok && t.restore(archive: dir.file("a.tar.zst")).alreadyPresent == 2)
    }
}
