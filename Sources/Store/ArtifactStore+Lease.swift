import Foundation

/// Who is writing an open trajectory bank: the process and host that last appended, and when.
public struct BankLease: Sendable, Equatable {
    public var pid: Int
    public var host: String
    public var heartbeat: Double
}

/// Liveness leases of open banks. Every append (and the opening) refreshes the bank's lease in the
/// same transaction; finalizing drops it. `gc --open-banks` removes an open bank only when its
/// lease has expired: on this host, when the writer process is gone; for a lease from another host
/// (a shard store copied here), when the heartbeat is older than `leaseSeconds`.
extension ArtifactStore {
    /// `$FS_BANK_LEASE_SECONDS`, default 600: how long another host's heartbeat keeps a bank alive.
    public static var leaseSeconds: Double {
        if let s = ProcessInfo.processInfo.environment["FS_BANK_LEASE_SECONDS"], let v = Double(s), v >= 0 { return v }
        return 600
    }

    static let hostName: String = {
        var buf = [CChar](repeating: 0, count: 256)
        return gethostname(&buf, buf.count) == 0 ? String(cString: buf) : "unknown"
    }()

    /// Records this process as the bank's writer (call inside the write transaction).
    func renewLease(bank: ArtifactID) throws {
        try db.execute("""
            INSERT INTO bank_lease(bank, pid, host, heartbeat) VALUES(?, ?, ?, ?)
            ON CONFLICT(bank) DO UPDATE SET pid = excluded.pid, host = excluded.host, heartbeat = excluded.heartbeat
            """, [bank, Int(getpid()), Self.hostName, timestampNow()])
    }

    public func lease(ofBank bank: ArtifactID) throws -> BankLease? {
        let st = try db.prepare("SELECT pid, host, heartbeat FROM bank_lease WHERE bank = ?")
        try st.bind(1, bank)
        return try st.step() ? BankLease(pid: st.int(0), host: st.string(1), heartbeat: st.double(2)) : nil
    }

    /// Nil when the lease has expired (the bank may be collected), else why the writer counts as live.
    public func liveWriter(_ lease: BankLease?) -> String? {
        guard let l = lease else { return nil }
        let age = Int(max(0, timestampNow() - l.heartbeat))
        if l.host == Self.hostName {
            let running = l.pid == Int(getpid()) || kill(pid_t(l.pid), 0) == 0 || errno == EPERM
            return running ? "its writer, pid \(l.pid) on this host, is running (last append \(age) s ago)" : nil
        }
        return Double(age) < Self.leaseSeconds
            ? "its writer on host \(l.host) (pid \(l.pid)) appended \(age) s ago, within the \(Int(Self.leaseSeconds)) s lease" : nil
    }
}
