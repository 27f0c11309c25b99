import Foundation
import NN
import Store
import TensorCore
import Testing
import Train

/// `fs-sample`'s partial trajectories end to end: stop at sigma_k, resume from the saved states and
/// get the uninterrupted run's samples bit for bit; an interpolated start is exactly
/// sigma*eps + (1-sigma)*x0; the sample set records its start; bad start files exit 3, bad sigmas 2.
@Suite(.serialized) struct SampleToolTests {
    typealias Tool = RolloutToolTests

    /// fs-sample from the same build directory as the fs-rollout the rollout tests find.
    static func binary() -> String? {
        guard let rollout = Tool.binary() else { return nil }
        let path = URL(fileURLWithPath: rollout).deletingLastPathComponent().appendingPathComponent("fs-sample").path
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    func floats(_ path: String, _ tensor: String) throws -> [Float] {
        try #require(try Safetensors.read(path: path).entry(tensor)).tensor(file: path).data
    }

    @Test func stopResumeInterpolateAndBadInputs() throws {
        guard let bin = Self.binary() else {
            Issue.record("fs-sample binary not found; build it first (swift build --product fs-sample)")
            return
        }
        let t = Tool(), dir = Tool.Dir()
        try t.writeTeacher(dir.file("teacher.safetensors"))
        let base = ["--checkpoint", "teacher.safetensors", "--steps", "4", "--seeds", "0-7", "--cfg", "2",
                    "--threads", "1", "--quiet", "--batch-size", "5"]
        func run(_ args: [String]) throws -> Tool.Result { try t.run(bin, base + args, in: dir) }

        var r = try run(["--save-tensors", "full.st", "--no-store-artifact"])
        #expect(r.status == 0, "\(r.stderr)")
        r = try run(["--stop-sigma", "0.75", "--save-tensors", "head.st", "--no-store-artifact"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try Safetensors.read(path: dir.file("head.st")).metadataValue("sigmas")?.hasSuffix("0.75]") == true)

        // Resume at the file's sigma (0.75): the full run's samples, bit for bit; the store records the start.
        r = try run(["--init-tensors", "head.st", "--save-tensors", "tail.st", "--store", "s.db", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try floats(dir.file("tail.st"), "samples") == floats(dir.file("full.st"), "samples"))
        let out = t.json(r.stdout)
        #expect(out["steps"] as? Int == 2 && out["start"] as? String == "states")
        let store = try ArtifactStore(path: dir.file("s.db"), create: false)
        let artifact = try store.resolve(try #require(out["artifact"] as? String), kind: ArtifactKind.sampleSet)
        let meta = t.json(artifact.metadata)
        #expect(meta["start"] as? String == "states" && meta["start_sigma"] as? Double == 0.75)
        #expect(meta["start_file"] as? String == "head.st" && (meta["start_file_sha256"] as? String)?.count == 64)
        // ... and the plan fs-eval reads from it: 2 of the 4 steps ran, each with guidance (2 evaluations a step).
        let plan = try #require(SamplingPlan(recorded: try OrderedJSON.parse(artifact.metadata)))
        #expect(plan.steps == 2 && plan.evaluationsPerSample == 4 && plan.guidance == 2 && plan.sigmas.first == 0.75)

        // Zero steps from an interpolated start: exactly sigma*eps + (1-sigma)*x0 with x0 the full run's samples.
        r = try run(["--init-x0", "full.st", "--start-sigma", "0.9", "--stop-sigma", "0.9", "--save-tensors", "interp.st",
                     "--no-store-artifact", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let sigma = Float(try #require(t.json(r.stdout)["start_sigma"] as? Double))
        let x0 = try floats(dir.file("full.st"), "samples"), eps = try floats(dir.file("full.st"), "noise")
        var expected = [Float](repeating: 0, count: x0.count)
        for j in 0..<x0.count { expected[j] = (1 - sigma) * x0[j] + sigma * eps[j] }
        #expect(try floats(dir.file("interp.st"), "samples") == expected)

        // Bad start files exit 3 naming the file; sigmas off the grid or options without a start exit 2.
        for (args, code, text) in [
            (["--init-tensors", "missing.st"], Int32(3), "missing.st"),
            (["--init-tensors", "head.st", "--start-sigma", "0.5"], 3, "head.st"),
            (["--init-tensors", "teacher.safetensors"], 3, "teacher.safetensors"),
            (["--init-x0", "head.st", "--start-sigma", "0.75"], 3, "head.st"),
            (["--init-tensors", "head.st", "--start-sigma", "0.6"], 2, "--start-sigma"),
            (["--start-sigma", "0.75"], 2, "--start-sigma"),
        ] {
            r = try run(args + ["--no-store-artifact"])
            #expect(r.status == code && r.stderr.contains(text), "\(args): \(r.status) \(r.stderr)")
        }
        r = try t.run(bin, base.map { $0 == "0-7" ? "0-6" : $0 } + ["--init-tensors", "head.st", "--no-store-artifact"], in: dir)
        #expect(r.status == 3 && r.stderr.contains("shape"), "\(r.stderr)")
    }
}
