import Foundation
import Store

extension CommonOptions {
    /// Opens (creating if needed) the store at `storePath`: for tools that write results (fs-train, fs-distill).
    public func openStore() throws -> ArtifactStore {
        try ArtifactStore(path: storePath)
    }

    /// Opens the store at `storePath`, which must already exist: for tools that read inputs from it.
    /// A missing file is bad input (exit 3) naming the path, instead of a new empty store.
    public func openExistingStore() throws -> ArtifactStore {
        let path = storePath
        guard FileManager.default.fileExists(atPath: path) else {
            throw ToolError.badInput("store \(path) does not exist (give --store PATH or set $FS_STORE)")
        }
        return try ArtifactStore(path: path, create: false)
    }

    /// The store at `storePath` if that file exists, else nil: for tools that can also work on plain files
    /// (a .safetensors checkpoint) and must not create a ./flowsteer.db nobody asked for.
    public func openStoreIfPresent() throws -> ArtifactStore? {
        FileManager.default.fileExists(atPath: storePath) ? try openExistingStore() : nil
    }

    /// True when the user named a store (--store or $FS_STORE): results of work on plain files are then
    /// stored there (creating it); without one they are only printed.
    public var storeNamed: Bool {
        !(store ?? "").isEmpty || !(ProcessInfo.processInfo.environment["FS_STORE"] ?? "").isEmpty
    }
}
