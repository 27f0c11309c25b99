import ArgumentParser
import Foundation
import ImageIO
import NN
import Store
import ToolSupport

/// Options every subcommand shares.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "Store file (default: $FS_STORE, else ./flowsteer.db).")
    var store: String?

    @Flag(name: .long, help: "Print one JSON object on stdout.")
    var json = false

    /// The store path: --store, then $FS_STORE, then ./flowsteer.db.
    var path: String {
        if let store { return store }
        if let env = ProcessInfo.processInfo.environment["FS_STORE"], !env.isEmpty { return env }
        return "flowsteer.db"
    }

    /// Writers: an existing store (`create` also makes a missing one).
    func open(create: Bool = false) throws -> ArtifactStore { try ArtifactStore(path: path, access: create ? .create : .write) }

    /// Readers (ls, show, verify, export, archive, metrics): SQLITE_OPEN_READONLY, so a read-only
    /// store works and nothing is ever written, not even to another program's database.
    func openForReading() throws -> ArtifactStore { try ArtifactStore(path: path, access: .read) }

    /// Runs `body` on the store; a missing store is built under a temporary name and moved into
    /// place only when `body` succeeds, so a failed restore or merge leaves no store behind.
    func withStore<T>(_ body: (ArtifactStore) throws -> T) throws -> T {
        if FileManager.default.fileExists(atPath: path) { return try body(try open()) }
        let tmp = path + ".part-\(getpid())"
        defer { for x in ["", "-wal", "-shm"] { unlink(tmp + x) } }
        // The store is closed when this returns (its WAL checkpointed into the file and removed).
        func build() throws -> T { try body(try ArtifactStore(path: tmp, access: .create)) }
        let result = try build()
        if FileManager.default.fileExists(atPath: tmp + "-wal") {
            throw StoreError.writeFailed(path: tmp, reason: "its WAL was not checkpointed on close")
        }
        // link(2) never replaces a store another process created meanwhile; restore and merge are
        // idempotent, so then they run again on that store.
        guard link(tmp, path) == 0 else {
            if errno == EEXIST { return try body(try open()) }
            throw StoreError.writeFailed(path: path, reason: "cannot move the new store into place: \(String(cString: strerror(errno)))")
        }
        return result
    }

    /// Refuses an output file that is this store or one of its -wal/-shm files.
    func checkOutput(_ output: String) throws {
        for suffix in ["", "-wal", "-shm"] where ArtifactStore.sameFile(output, path + suffix) {
            throw StoreError.badInput(file: output, reason: "is the store \(path)\(suffix.isEmpty ? "" : " (its \(suffix) file)"); choose another output file")
        }
    }
}

/// Exit codes (docs/design.md).
enum Exit {
    static let failure: Int32 = 1
    static let usage: Int32 = 2
    static let badInput: Int32 = 3
    static let busy: Int32 = 4
}

/// Runs a subcommand body, turning any error into a one-line message on stderr and the documented
/// exit code (ToolSupport's `ToolOutcome`: store errors and damaged files 3, busy 4, other failures 1).
func guarded(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as ExitCode {
        throw e
    } catch {
        let outcome = ToolOutcome(error: error)
        fail(outcome.message, outcome.code)
    }
}

func fail(_ message: String, _ code: Int32) -> Never {
    FileHandle.standardError.write(Data("fs-store: \(message)\n".utf8))
    Foundation.exit(code)
}

func printJSON(_ j: OrderedJSON) { print(j.serialized) }

func info(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

extension ArtifactRecord {
    var json: OrderedJSON {
        .object([("id", OrderedJSON(Int(id))), ("kind", .string(kind)), ("name", .string(name)),
                 ("run", run.map { .string($0) } ?? .null), ("step", step.map { OrderedJSON($0) } ?? .null),
                 ("hash", .string(hash)), ("size", OrderedJSON(size)), ("created_at", OrderedJSON(createdAt)),
                 ("state", .string(state)), ("code_rev", codeRev.map { .string($0) } ?? .null),
                 ("parents", .array(parents.map { OrderedJSON(Int($0)) })),
                 ("config", (try? OrderedJSON.parse(config)) ?? .string(config)),
                 ("metadata", (try? OrderedJSON.parse(metadata)) ?? .string(metadata))])
    }
}

func humanBytes(_ n: Int) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"]
    var v = Double(n), u = 0
    while v >= 1000 && u < units.count - 1 { v /= 1000; u += 1 }
    return u == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[u])
}
