import Foundation
import Testing
@testable import Store

/// Issue 24 items 2 and 9: `gc --open-banks` never drops a bank a live writer is appending to, and
/// a held lock is waited on for the documented time, visibly, then exit 4.
@Suite struct LeaseTests {
    func openBank(_ s: ArtifactStore, _ name: String) throws -> ArtifactRecord {
        let b = try s.createOrOpenBank(name: name, config: "{}", rowFloats: 1)
        try s.appendTrajectories(bank: b, rows: [TrajectoryRow(sample: 0, seed: 0, label: 0, guidance: 1, states: [1])])
        return b
    }

    /// The pid of a process that has exited.
    func deadPid() throws -> Int {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try p.run(); p.waitUntilExit()
        return Int(p.processIdentifier)
    }

    @Test func gcKeepsBanksWithALiveWriterAndDropsAbandonedOnes() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let s = try ArtifactStore(path: dir.file("s.db"))
        let live = try openBank(s, "live")            // this process is its writer
        let dead = try openBank(s, "dead")
        let remote = try openBank(s, "remote-fresh")
        let stale = try openBank(s, "remote-stale")
        try s.db.execute("UPDATE bank_lease SET pid = ? WHERE bank = ?", [try deadPid(), dead.id])
        try s.db.execute("UPDATE bank_lease SET host = 'elsewhere' WHERE bank IN (?, ?)", [remote.id, stale.id])
        try s.db.execute("UPDATE bank_lease SET heartbeat = heartbeat - 7200 WHERE bank = ?", [stale.id])
        let r = try s.gc(dropOpenBanks: true, vacuum: false)
        #expect(Set(r.droppedBanks) == ["trajectory_bank:dead", "trajectory_bank:remote-stale"])
        #expect(Set(r.skippedBanks.map(\.bank)) == ["trajectory_bank:live", "trajectory_bank:remote-fresh"])
        #expect(r.skippedBanks.first { $0.bank.hasSuffix(":live") }!.reason.contains("pid \(getpid())"))
        try s.appendTrajectories(bank: live, rows: [TrajectoryRow(sample: 1, seed: 1, label: 0, guidance: 1, states: [2])])
        #expect(try s.gc(dropOpenBanks: true, force: true, vacuum: false).droppedBanks.count == 2)
        #expect(try s.artifacts(kind: ArtifactKind.trajectoryBank).isEmpty)
    }

    @Test func finalizedBankHasNoLease() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let s = try ArtifactStore(path: dir.file("s.db"))
        let b = try openBank(s, "b")
        #expect(try s.lease(ofBank: b.id)?.pid == Int(getpid()))
        try s.finalizeBank(b)
        #expect(try s.lease(ofBank: b.id) == nil)
    }

    @Test func heldLockFailsWithExit4AfterTheConfiguredWaitAndSaysSo() throws {
        guard let bin = KillTests.fsStoreBinary() else { Issue.record("fs-store binary not found"); return }
        let dir = TempDir(); defer { dir.cleanup() }
        do { let s = try ArtifactStore(path: dir.file("s.db")); try smallCheckpoint(s, run: "r", step: 1) }
        let holder = try Database(path: dir.file("s.db"), access: .write)
        try holder.execute("BEGIN IMMEDIATE")
        defer { try? holder.execute("ROLLBACK") }
        let t0 = Date()
        let r = try runTool(bin, ["tag", "best", "r", "--store", "s.db"], in: dir, env: ["FS_STORE_BUSY_TIMEOUT": "1"])
        let secs = Date().timeIntervalSince(t0)
        #expect(r.status == 4, "\(r.stderr)")
        #expect(r.stderr.contains("is locked by another writer; waiting up to 1 s"), "\(r.stderr)")
        #expect(secs >= 0.9 && secs < 10, "waited \(secs) s")
    }
}
