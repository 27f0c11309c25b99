import CSQLite
import Foundation

/// SQLite's busy handler for one connection: waits for another process's lock up to the store's
/// busy timeout (30 s, `$FS_STORE_BUSY_TIMEOUT` seconds), and says so on stderr once per wait, so
/// a held lock is never waited on in silence. A single deadline per wait: the caller then fails
/// with `StoreError.busy` (exit 4) instead of waiting again.
final class BusyWait {
    let path: String
    let timeoutSeconds: Double
    private var start: Double = 0
    private var announced = false

    /// The wait before a locked store fails with exit 4: `$FS_STORE_BUSY_TIMEOUT` seconds (tests use
    /// a short one), else 30 s (docs/store.md).
    static var configuredTimeout: Double {
        if let s = ProcessInfo.processInfo.environment["FS_STORE_BUSY_TIMEOUT"], let v = Double(s), v >= 0 { return v }
        return 30
    }

    init(path: String, timeoutSeconds: Double = BusyWait.configuredTimeout) {
        self.path = path
        self.timeoutSeconds = timeoutSeconds
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    var timeoutText: String { timeoutSeconds == timeoutSeconds.rounded() ? "\(Int(timeoutSeconds)) s" : "\(timeoutSeconds) s" }

    /// Installs the handler on `db`; `self` must outlive the connection.
    func install(on db: OpaquePointer) {
        sqlite3_busy_handler(db, { ctx, count in
            guard let ctx else { return 0 }
            return Unmanaged<BusyWait>.fromOpaque(ctx).takeUnretainedValue().shouldRetry(count: count) ? 1 : 0
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    /// Called by SQLite with count 0, 1, 2, ... while the lock stays busy.
    func shouldRetry(count: Int32) -> Bool {
        let t = Self.now()
        if count == 0 { start = t; announced = false }
        // Said once a wait outlasts ordinary contention (1 s, or half a shorter timeout): brief
        // waits between concurrent writers stay quiet, a held lock never goes unexplained.
        if !announced && timeoutSeconds > 0 && t - start >= min(1, timeoutSeconds / 2) {
            announced = true
            FileHandle.standardError.write(Data("store \(path) is locked by another writer; waiting up to \(timeoutText)\n".utf8))
        }
        let left = timeoutSeconds - (t - start)
        if left <= 0 { return false }
        usleep(useconds_t(min(left, count < 10 ? 0.01 : 0.1) * 1e6))
        return true
    }
}
