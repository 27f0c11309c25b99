import Foundation
import Testing
@testable import Store

/// Two writer processes and this process (reading and recording metrics) share one store:
/// nobody may fail with "database is locked".
@Suite struct ConcurrencyTests {
    @Test func writersAndReadersNeverSeeLockErrors() throws {
        guard let bin = KillTests.fsStoreBinary() else {
            Issue.record("fs-store binary not found; build it first (swift build --product fs-store)")
            return
        }
        let dir = TempDir(); defer { dir.cleanup() }
        let db = dir.file("shared.db")
        _ = try ArtifactStore(path: db)
        let writers = try (1...2).map { seed -> Process in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: bin)
            p.arguments = ["_stress-writer", "--store", db, "--seed", String(seed), "--count", "8",
                           "--max-floats", "100000", "--chunk-bytes", "65536"]
            p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
            try p.run()
            return p
        }
        let s = try ArtifactStore(path: db)
        var reads = 0
        while writers.contains(where: \.isRunning) {
            _ = try s.artifacts()
            try s.recordMetric(run: "reader", step: reads, name: "seen", value: 1)
            reads += 1
            usleep(10_000)
        }
        for p in writers { p.waitUntilExit(); #expect(p.terminationStatus == 0) }
        #expect(try s.artifacts(kind: "stress").count == 16)
        #expect(try s.metrics(run: "reader").count == reads)
        #expect(try s.verify().ok)
    }

    /// Checkpoints run on a background connection while the writer commits; the writer only
    /// checkpoints itself at the hard limit, so the WAL stays bounded and nothing is lost.
    @Test func backgroundCheckpointsKeepTheWALBoundedAndLoseNothing() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let db = dir.file("ckpt.db")
        let s = try ArtifactStore(path: db)
        s.db.setCheckpointPages(soft: 4, hard: 16)
        let rowFloats = 20_000  // 80 KB rows: each batch of 8 commits about 10 pages of 64 KB
        let bank = try s.createOrOpenBank(name: "b", config: "{}", rowFloats: rowFloats)
        var expected: [Float] = []
        var maxWAL = 0
        for batch in 0..<40 {
            let rows = (0..<8).map { k in
                TrajectoryRow(sample: batch * 8 + k, seed: UInt64(k), label: k, guidance: 1,
                              states: (0..<rowFloats).map { Float(batch * 8 + k) + Float($0) * 1e-3 })
            }
            try s.appendTrajectories(bank: bank, rows: rows)
            expected += rows.flatMap(\.states)
            let wal = (try? FileManager.default.attributesOfItem(atPath: db + "-wal")[.size] as? Int) ?? 0
            maxWAL = max(maxWAL, wal)
        }
        // Hard limit (16 pages) + one batch (~10) + slack; SQLite's own default would allow 1000.
        #expect(maxWAL <= 32 * 65_560, "WAL grew to \(maxWAL) bytes")
        let dbSize = (try? FileManager.default.attributesOfItem(atPath: db)[.size] as? Int) ?? 0
        #expect(dbSize > 20 << 20, "checkpoints copied only \(dbSize) bytes into the database")
        let back = try s.readBank(bank)
        #expect(back.count == 320 && back.states == expected)
        try s.finalizeBank(bank)
        #expect(try s.verify().ok)
        // A second connection sees everything.
        let other = try ArtifactStore(path: db, create: false)
        #expect(try other.readBank(other.resolve("b")).states == expected)
    }
}
