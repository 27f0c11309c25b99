import Foundation
import NN
import TensorCore
import Testing
@testable import Store

/// SIGKILL a writer at random moments, many times: afterwards `verify` passes, everything the
/// writer reported as committed is intact, and no half-written artifact is visible.
@Suite struct KillTests {
    /// The built `fs-store` next to this test bundle (else the newest in a scratch dir of the package).
    static func fsStoreBinary() -> String? {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path + "/fs-store"
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        var dirs: [String] = []
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        if let items = try? FileManager.default.contentsOfDirectory(atPath: root.path) {
            for d in items where d.hasPrefix(".build") { dirs += [root.path + "/" + d + "/debug", root.path + "/" + d + "/release"] }
        }
        let found = dirs.map { $0 + "/fs-store" }.filter { FileManager.default.isExecutableFile(atPath: $0) }
        func mtime(_ p: String) -> Date { ((try? FileManager.default.attributesOfItem(atPath: p))?[.modificationDate] as? Date) ?? .distantPast }
        return found.max { mtime($0) < mtime($1) }
    }

    @Test func sigkillNeverLeavesPartialArtifacts() throws {
        guard let bin = Self.fsStoreBinary() else {
            Issue.record("fs-store binary not found; build it first (swift build --product fs-store)")
            return
        }
        let dir = TempDir(); defer { dir.cleanup() }
        let db = dir.file("kill.db")
        var rng = SplitMix64(seed: 42)
        var committed: [String] = []
        var batches: [(seed: Int, batch: Int)] = []
        let deadline = Date().addingTimeInterval(10)
        var kills = 0
        for round in 0..<30 where Date() < deadline || kills < 5 {
            let out = dir.file("out\(round).txt")
            FileManager.default.createFile(atPath: out, contents: nil)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: bin)
            p.arguments = ["_stress-writer", "--store", db, "--seed", String(round), "--max-floats", "200000", "--chunk-bytes", "65536",
                           "--checkpoint-pages", "8"]  // kills land in background and writer checkpoints too
            p.standardOutput = FileHandle(forWritingAtPath: out)
            p.standardError = FileHandle(forWritingAtPath: "/dev/null")
            try p.run()
            usleep(UInt32(20_000 + rng.next() % 700_000))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            kills += 1
            for line in String(decoding: readBytes(out), as: UTF8.self).split(separator: "\n") {
                if line.hasPrefix("committed batch ") { batches.append((round, Int(line.dropFirst(16))!)) }
                else if line.hasPrefix("committed ") { committed.append(String(line.dropFirst(10))) }
            }
        }
        #expect(kills >= 5)
        #expect(committed.count >= 3, "the writer committed too little to test anything (is fs-store current?)")
        let s = try ArtifactStore(path: db, create: false)
        let report = try s.verify()
        #expect(report.ok, "\(report.integrity) \(report.problems)")
        let stored = try s.artifacts(kind: "stress")
        let names = Set(stored.map(\.name))
        for n in committed { #expect(names.contains(n), "committed \(n) is missing") }
        for a in stored {
            let blobs = try s.loadBlobs(a)
            let want = try OrderedJSON.parse(a.metadata)["sha256"]?.stringValue
            #expect(blobs.count == 1 && blobs[0].bytes.withUnsafeBytes { SHA256.hex($0) } == want, "\(a.name) is damaged")
        }
        for (seed, batch) in batches {
            let bank = try s.resolve("stress-bank-\(seed)", kind: ArtifactKind.trajectoryBank)
            #expect(try s.existingSampleIndices(bank: bank).isSuperset(of: (batch * 16)..<(batch * 16 + 16)))
        }
        for bank in try s.artifacts(kind: ArtifactKind.trajectoryBank) {
            #expect(try s.existingSampleIndices(bank: bank).count % 16 == 0, "a batch was half-committed")
        }
        print("SIGKILL test: \(kills) kills, \(committed.count) artifacts and \(batches.count) batches committed, \(stored.count) stored")
    }
}
