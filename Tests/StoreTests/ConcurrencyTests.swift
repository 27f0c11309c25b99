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
}
