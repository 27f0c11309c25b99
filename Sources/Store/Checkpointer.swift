import CSQLite
import Dispatch
import Foundation

/// Moves WAL checkpoints off the committing thread.
///
/// SQLite's default autocheckpoint runs inside the COMMIT that pushes the WAL past 1000 pages, so
/// that commit waits for two fsyncs and a copy of the whole WAL into the database file (at 64 KB
/// pages, 64 MB each time): on this machine that halved the append rate of trajectory banks.
/// Instead a WAL hook on the writing connection asks a serial background queue, which opens its
/// own short-lived connection, to run a PASSIVE checkpoint once the WAL holds `softFrames` pages,
/// while the writer goes on committing. Only if the WAL still reaches `hardFrames` pages (the
/// checkpointer cannot keep up, or a reader pins old frames) does the writer checkpoint itself,
/// as SQLite would have done, which bounds the WAL's size.
///
/// Nothing about durability changes: a commit is still complete once its WAL frames are written
/// (kill-safe; synchronous=NORMAL), and checkpoints are crash-safe wherever they run.
final class Checkpointer: @unchecked Sendable {
    /// Pages in the WAL that start a background checkpoint (SQLite's autocheckpoint default).
    /// Read by the WAL hook on the committing thread; set only by the connection's owner.
    var softFrames: Int32 = 1000
    /// Pages in the WAL at which the writer checkpoints itself (8x soft: 512 MB at 64 KB pages).
    var hardFrames: Int32 = 8000

    private let path: String
    private let queue = DispatchQueue(label: "flowsteer.store.checkpoint")
    private let lock = NSLock()
    private var pending = false

    init(path: String) { self.path = path }

    /// Installs the WAL hook on `db` (replacing SQLite's autocheckpoint). `self` must outlive `db`'s use.
    func install(on db: OpaquePointer) {
        sqlite3_wal_hook(db, { ctx, db, name, frames in
            guard let ctx else { return SQLITE_OK }
            let me = Unmanaged<Checkpointer>.fromOpaque(ctx).takeUnretainedValue()
            if frames >= me.hardFrames {
                // Errors are not the committer's: the commit already succeeded (SQLite ignores them too).
                _ = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            } else if frames >= me.softFrames {
                me.request()
            }
            return SQLITE_OK
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    /// Schedules one background PASSIVE checkpoint unless one is already queued or running.
    func request() {
        lock.lock()
        let start = !pending
        pending = true
        lock.unlock()
        guard start else { return }
        queue.async { [self] in
            checkpointNow()
            lock.lock(); pending = false; lock.unlock()
        }
    }

    /// Waits for a queued or running background checkpoint to finish.
    func drain() { queue.sync {} }

    private func checkpointNow() {
        var db: OpaquePointer?
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK, let db else {
            if let db { sqlite3_close_v2(db) }
            return
        }
        // PASSIVE never waits for readers or the writer; what it cannot copy now waits for the next round.
        _ = sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
        sqlite3_close_v2(db)
    }
}
