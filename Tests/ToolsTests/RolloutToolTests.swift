import Foundation
import Testing
import NN
import Store
import TensorCore
import Train

/// `fs-rollout` end to end: a bank that matches `TeacherRollout`, sharded banks that merge into the
/// same bank, refusal without --resume, and a resume after SIGKILL that fills in only what is missing.
@Suite(.serialized) struct RolloutToolTests {
    struct Result { var status: Int32; var stdout: String; var stderr: String }

    static func binary() -> String? {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path + "/fs-rollout"
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var found: [String] = []
        for d in (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? [] where d.hasPrefix(".build") {
            for c in ["debug", "release"] {
                let p = "\(root.path)/\(d)/\(c)/fs-rollout"
                if FileManager.default.isExecutableFile(atPath: p) { found.append(p) }
            }
        }
        func mtime(_ p: String) -> Date { ((try? FileManager.default.attributesOfItem(atPath: p))?[.modificationDate] as? Date) ?? .distantPast }
        return found.max { mtime($0) < mtime($1) }
    }

    final class Dir {
        let path: String
        init() {
            path = NSTemporaryDirectory() + "rollout-tool-\(UUID().uuidString)"
            try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        func file(_ n: String) -> String { path + "/" + n }
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    func start(_ bin: String, _ args: [String], in dir: Dir) throws -> (Process, String, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: bin)
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: dir.path)
        p.environment = ProcessInfo.processInfo.environment.filter { $0.key != "FS_STORE" }
        let tag = UUID().uuidString
        let out = dir.file("out-\(tag)"), err = dir.file("err-\(tag)")
        FileManager.default.createFile(atPath: out, contents: nil)
        FileManager.default.createFile(atPath: err, contents: nil)
        p.standardOutput = FileHandle(forWritingAtPath: out)
        p.standardError = FileHandle(forWritingAtPath: err)
        try p.run()
        return (p, out, err)
    }

    func run(_ bin: String, _ args: [String], in dir: Dir) throws -> Result {
        let (p, out, err) = try start(bin, args, in: dir)
        p.waitUntilExit()
        func text(_ f: String) -> String { (try? String(contentsOfFile: f, encoding: .utf8)) ?? "" }
        return Result(status: p.terminationStatus, stdout: text(out), stderr: text(err))
    }

    /// A random teacher exported like `fs-store export` (UNet parameters + config metadata), tiny by default.
    @discardableResult
    func writeTeacher(_ path: String, config: UNetConfig = UNetConfig(channels: [8, 16], embedDim: 32)) throws -> VelocityModel {
        var w = UNet(config).initialParameters(seed: 11)
        for key in ["conv_out.weight", "conv_out.bias"] {
            let t = try #require(w[key])
            var g = SplitMix64(seed: UInt64(key.count))
            w[key] = Tensor(shape: t.shape, data: g.normals(t.count).map { 0.05 * $0 })
        }
        try Safetensors.write(stateDict: w, metadata: [("format", "pt"), ("config", config.json),
                                                       ("recommended_cfg", "1.75")], to: path)
        return try VelocityModel(config: .unet(config), weights: w)
    }

    func json(_ s: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(s.utf8))) as? [String: Any] ?? [:]
    }

    @Test func bankShardsMergeAndResume() throws {
        guard let bin = Self.binary() else {
            Issue.record("fs-rollout binary not found; build it first (swift build --product fs-rollout)")
            return
        }
        let dir = Dir()
        let model = try writeTeacher(dir.file("teacher.safetensors"))
        let common = ["--teacher", "teacher.safetensors", "--name", "bank", "--seeds", "3-12", "--segments", "2",
                      "--substeps", "3", "--quiet"]

        // One store, whole list; default cfg range = recommended 1.75 +- 0.5.
        var r = try run(bin, common + ["--store", "whole.db", "--batch-size", "4", "--threads", "1", "--json"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        let out = json(r.stdout)
        #expect(out["trajectories"] as? Int == 10 && out["bank"] as? String == "bank")
        #expect((out["trajectories_per_second"] as? Double ?? 0) > 0)
        #expect((out["hash"] as? String ?? "").count == 64)
        #expect(out["cfg_range"] as? [Double] == [1.25, 2.25])

        let whole = try ArtifactStore(path: dir.file("whole.db"), create: false)
        let bank = try whole.resolve("bank", kind: ArtifactKind.trajectoryBank)
        #expect(bank.state == "complete")
        let rows = try whole.bankRows(bank)
        // In-process the rows agree up to rounding: this process does not pin OpenBLAS to one thread as
        // the tools do (ComputeThreads.set would race with other suites). Bit-identity across batch
        // sizes, threads and shards is checked below between tool runs (equal content hashes).
        let rollout = TeacherRollout(model: model, segments: 2, substeps: 3, guidanceRange: (1.25, 2.25))
        let expected = rollout.run(seeds: Array(3...12), batchSize: 3)
        #expect(rows.map(\.sample) == Array(0..<10))
        #expect(rows.map(\.seed) == Array(3...12))
        var worst: Float = 0
        for (a, b) in zip(rows, expected) { for (x, y) in zip(a.states, b.states) { worst = max(worst, abs(x - y)) } }
        #expect(rows.allSatisfy { $0.states.count == 3 * 784 } && worst < 1e-4, "max difference \(worst)")
        #expect(rows.map(\.guidance) == expected.map(\.guidance) && rows.map(\.label) == expected.map(\.label))

        // Again without --resume: usage error naming --resume; with --resume: nothing to do.
        r = try run(bin, common + ["--store", "whole.db"], in: dir)
        #expect(r.status == 2 && r.stderr.contains("--resume"))
        r = try run(bin, common + ["--store", "whole.db", "--resume", "--json"], in: dir)
        #expect(r.status == 0 && json(r.stdout)["written"] as? Int == 0 && json(r.stdout)["hash"] as? String == bank.hash)

        // Three shards in three stores, on 2 threads, merged: the same rows and content hash.
        for i in 0..<3 {
            r = try run(bin, common + ["--store", "shard-\(i).db", "--shard", "\(i)/3", "--batch-size", "2", "--threads", "2"], in: dir)
            #expect(r.status == 0, "\(r.stderr)")
        }
        let merged = try ArtifactStore(path: dir.file("merged.db"))
        try merged.merge(shards: (0..<3).map { dir.file("shard-\($0).db") })
        let mb = try merged.resolve("bank", kind: ArtifactKind.trajectoryBank)
        #expect(mb.state == "complete" && mb.hash == bank.hash)
        let sameRows = try merged.bankRows(mb) == rows
        #expect(sameRows)

        // SIGKILL during a larger rollout, then --resume: the finished bank equals an uninterrupted one.
        let big = ["--teacher", "teacher.safetensors", "--name", "big", "--num", "24", "--segments", "2",
                   "--substeps", "4", "--threads", "1", "--quiet", "--batch-size", "2", "--cfg-range", "1,2"]
        let (p, _, _) = try start(bin, big + ["--store", "killed.db"], in: dir)
        let deadline = Date().addingTimeInterval(60)
        var seen = 0
        while p.isRunning && Date() < deadline {
            if let s = try? ArtifactStore(path: dir.file("killed.db"), create: false),
               let b = try? s.artifacts(kind: ArtifactKind.trajectoryBank).first,
               let n = try? s.existingSampleIndices(bank: b).count, n > 0 {
                seen = n
                break
            }
            usleep(5_000)
        }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        r = try run(bin, big + ["--store", "killed.db", "--resume", "--json"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        let resumed = json(r.stdout)
        #expect(resumed["trajectories"] as? Int == 24)
        if seen > 0 && seen < 24 { #expect((resumed["written"] as? Int ?? 0) <= 24 - seen) }
        r = try run(bin, big + ["--store", "clean.db", "--json"], in: dir)
        #expect(r.status == 0 && json(r.stdout)["hash"] as? String == resumed["hash"] as? String)

        // Usage errors.
        r = try run(bin, ["--teacher", "teacher.safetensors", "--name", "x", "--store", "u.db"], in: dir)
        #expect(r.status == 2)
        r = try run(bin, common + ["--store", "u.db", "--shard", "3/3"], in: dir)
        #expect(r.status == 2)
        r = try run(bin, common + ["--store", "u.db", "--cfg-range", "2,1"], in: dir)
        #expect(r.status == 2)
    }

    /// Throughput of a realistic rollout (UNet [16, 32, 32], K = 4, S = 8, w ~ U[1, 2], batch 64): run with
    /// FS_ROLLOUT_BENCH=1 (and FS_ROLLOUT_BINARY=path to a release fs-rollout); prints the tool's JSON.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["FS_ROLLOUT_BENCH"] != nil))
    func releaseThroughput() throws {
        let env = ProcessInfo.processInfo.environment
        guard let bin = env["FS_ROLLOUT_BINARY"] ?? Self.binary() else {
            Issue.record("fs-rollout binary not found")
            return
        }
        let dir = Dir()
        try writeTeacher(dir.file("teacher.safetensors"), config: UNetConfig(channels: [16, 32, 32]))
        let count = env["FS_ROLLOUT_BENCH_NUM"] ?? "256"
        var args = ["--teacher", "teacher.safetensors", "--name", "bench", "--num", count, "--segments", "4",
                    "--substeps", "8", "--cfg-range", "1,2", "--batch-size", "64", "--store", "bench.db", "--json"]
        if let t = env["FS_ROLLOUT_BENCH_THREADS"] { args += ["--threads", t] }
        let r = try run(bin, args, in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        print("fs-rollout bench: \(r.stdout)")
        print(r.stderr)
    }
}
