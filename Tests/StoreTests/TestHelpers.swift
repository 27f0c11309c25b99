import Foundation
import NN
import TensorCore
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

/// Exit status and output of one tool run.
struct ToolRun { var status: Int32; var stdout: String; var stderr: String }

/// Runs `bin args` in `dir` (without $FS_STORE, plus `env`), capturing its output.
func runTool(_ bin: String, _ args: [String], in dir: TempDir, env: [String: String] = [:]) throws -> ToolRun {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: bin)
    p.arguments = args
    p.currentDirectoryURL = URL(fileURLWithPath: dir.path)
    p.environment = ProcessInfo.processInfo.environment.filter { $0.key != "FS_STORE" }.merging(env) { $1 }
    let out = dir.file("stdout.txt"), err = dir.file("stderr.txt")
    FileManager.default.createFile(atPath: out, contents: nil)
    FileManager.default.createFile(atPath: err, contents: nil)
    p.standardOutput = FileHandle(forWritingAtPath: out)
    p.standardError = FileHandle(forWritingAtPath: err)
    try p.run()
    p.waitUntilExit()
    return ToolRun(status: p.terminationStatus, stdout: String(decoding: readBytes(out), as: UTF8.self),
                   stderr: String(decoding: readBytes(err), as: UTF8.self))
}

/// A small checkpoint `RUN@STEP` (model and EMA tensors).
@discardableResult
func smallCheckpoint(_ s: ArtifactStore, run: String, step: Int, seed: Float = 1) throws -> ArtifactRecord {
    let w = Tensor(shape: [4, 3], data: (0..<12).map { Float($0) + seed })
    return try s.putCheckpoint(run: run, step: step, model: StateDict([("w", w)]), ema: StateDict([("w", w)]))
}

/// SHA-256 of a file's bytes (to assert "untouched").
func fileHash(_ path: String) -> String { SHA256.hex(readBytes(path)) }
