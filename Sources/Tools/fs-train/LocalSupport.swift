// Interim CLI glue for fs-train while ToolSupport is being written; replaced by ToolSupport's versions.
import ArgumentParser
import Foundation
import Store
import TensorCore

struct CommonOptions: ParsableArguments {
    @Option(help: "Artifact store (default: $FS_STORE, else ./flowsteer.db).") var store: String?
    @Option(help: "Threads (default: $SLURM_CPUS_PER_TASK, else all cores).") var threads: Int?
    @Flag(help: "Print one JSON object on stdout.") var json = false
    @Flag(help: "No progress output.") var quiet = false

    var storePath: String { store ?? ProcessInfo.processInfo.environment["FS_STORE"] ?? "flowsteer.db" }
    func applyThreads() { ComputeThreads.set(threads ?? ComputeThreads.defaultCount) }
    func openStore() throws -> ArtifactStore { try ArtifactStore(path: storePath) }
    func log(_ s: String) { if !quiet { FileHandle.standardError.write(Data((s + "\n").utf8)) } }
    func emit(_ obj: [String: Any], human: String) {
        if json { print(jsonString(obj)) } else { print(human) }
    }
}

struct ToolError: Error, CustomStringConvertible {
    enum Code: Int32 { case failure = 1, usage = 2, badInput = 3, busy = 4, diverged = 5 }
    let code: Code, description: String
    init(_ code: Code, _ message: String) { (self.code, self.description) = (code, message) }
}

func runTool(_ common: CommonOptions, _ body: () throws -> Void) throws {
    do { try body() } catch let e as ToolError {
        FileHandle.standardError.write(Data("fs-train: \(e.description)\n".utf8)); Foundation.exit(e.code.rawValue)
    } catch {
        FileHandle.standardError.write(Data("fs-train: \(error)\n".utf8)); Foundation.exit(1)
    }
}

final class Progress {
    let total: Int, label: String, quiet: Bool, start: Int
    let t0 = Date(); var last = Date.distantPast
    init(total: Int, start: Int, label: String, quiet: Bool) { (self.total, self.start, self.label, self.quiet) = (total, start, label, quiet) }
    func update(_ done: Int, note: String) {
        guard !quiet, Date().timeIntervalSince(last) > 10 else { return }
        last = Date()
        let rate = Double(done - start) / max(1e-9, Date().timeIntervalSince(t0))
        let eta = rate > 0 ? Double(total - done) / rate : 0
        FileHandle.standardError.write(Data(String(format: "%@: %d/%d %.2f it/s eta %.0fs %@\n", label, done, total, rate, eta, note).utf8))
    }
    func finish() {}
}

func jsonObject(_ text: String) -> Any { (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) ?? [:] }
func jsonString(_ obj: Any) -> String {
    String(decoding: (try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .fragmentsAllowed])) ?? Data("{}".utf8), as: UTF8.self)
}
