import Foundation
import NN
@testable import Store

/// A unique temporary directory per test, removed by `cleanup()`.
struct TempDir {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "storetests-\(getpid())-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func file(_ name: String) -> String { path + "/" + name }
    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

func writeBytes(_ bytes: [UInt8], to path: String) {
    FileManager.default.createFile(atPath: path, contents: Data(bytes))
}

func readBytes(_ path: String) -> [UInt8] { [UInt8](FileManager.default.contents(atPath: path) ?? Data()) }

/// The error's description, or "" when `body` does not throw.
func errorText(_ body: () throws -> Void) -> String {
    do { try body(); return "" } catch { return "\(error)" }
}

/// A deterministic float32 blob.
func floatBlob(_ name: String, _ n: Int, seed: Float = 1) -> NamedBlob {
    NamedBlob(name: name, dtype: .F32, shape: [n], bytes: (0..<n).map { Float($0) * 0.5 + seed }.withUnsafeBytes { [UInt8]($0) })
}

/// A snapshot of everything visible in a store (to assert "unchanged").
func snapshot(_ s: ArtifactStore) throws -> [String] {
    try s.artifacts().map { "\($0.id) \($0.kind) \($0.name) \($0.hash) \($0.state)" } + s.runs().map { "run \($0.name)" }
        + [String(try s.db.scalarInt("SELECT COUNT(*) FROM metric") ?? -1)]
}
