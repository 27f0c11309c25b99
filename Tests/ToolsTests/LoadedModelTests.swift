import ArgumentParser
import Foundation
import NN
import Store
import TensorCore
import Testing
import Train
@testable import ToolSupport

/// A temporary store with a tiny checkpoint, removed by `cleanup()`.
private struct Fixture {
    let dir: String
    let store: ArtifactStore
    let config = UNetConfig(channels: [8, 16], embedDim: 32)
    let ema: StateDict
    let model: StateDict

    init() throws {
        dir = NSTemporaryDirectory() + "loadedmodel-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        store = try ArtifactStore(path: dir + "/s.db")
        model = UNet(config).initialParameters(seed: 1)
        ema = UNet(config).initialParameters(seed: 2)
    }

    func file(_ name: String) -> String { dir + "/" + name }
    func cleanup() { try? FileManager.default.removeItem(atPath: dir) }

    @discardableResult
    func checkpoint(run: String = "teach", step: Int = 5, metadata: String? = nil, weights: StateDict? = nil) throws -> ArtifactRecord {
        let meta = metadata ?? #"{"kind":"teacher","step":\#(step),"config":\#(config.json),"recommended_cfg":2.5,"schedule":"diffusers","shift":2}"#
        return try store.putCheckpoint(run: run, step: step, model: weights ?? model, ema: weights ?? ema,
                                       optM: model, optV: model, metadata: meta)
    }
}

/// Same keys and tensors, in any order (exported files are sorted like PyTorch's writer).
private func sameWeights(_ a: StateDict, _ b: StateDict) -> Bool {
    Set(a.keys) == Set(b.keys) && a.keys.allSatisfy { a[$0] == b[$0] }
}

private func outcome(_ body: () throws -> Void) -> ToolOutcome { ToolOutcome(error: errorOf(body)) }

@Suite struct LoadedModelTests {
    @Test func loadsCheckpointWithMetadataAndEMAWeights() throws {
        let f = try Fixture(); defer { f.cleanup() }
        let a = try f.checkpoint()
        try f.store.tag("best", a.id)
        for ref in ["teach", "teach@5", "best", String(a.hash.prefix(10))] {
            let m = try LoadedModel.load(ref, store: { f.store })
            #expect(m.model.weights == f.ema, "sampling weights are the EMA ones (\(ref))")
            #expect(m.config == .unet(f.config))
            #expect(m.recommendedCFG == 2.5 && m.schedule == .diffusers && m.shift == 2 && m.kind == .teacher && m.step == 5)
            #expect(m.artifact?.id == a.id && m.contentHash == a.hash && m.displayName == "teach@5")
        }
    }

    @Test func defaultsWhenMetadataIsSparseAndFallbackConfig() throws {
        let f = try Fixture(); defer { f.cleanup() }
        // No config in the metadata: the artifact's config column (fs-train's training config) has `model`.
        try f.store.putCheckpoint(run: "old", step: 1, model: f.model, metadata: "{}",
                                  config: #"{"model":\#(f.config.json),"batch_size":16}"#)
        let m = try LoadedModel.load(reference: "old", in: f.store)
        #expect(m.recommendedCFG == 1 && m.shift == 3 && m.schedule == nil && m.kind == .teacher)
        #expect(m.model.weights == f.model, "model.* weights when there is no EMA")
    }

    @Test func studentSegmentsDriveTheDefaultSchedule() throws {
        let f = try Fixture(); defer { f.cleanup() }
        try f.checkpoint(run: "stu", metadata: #"{"kind":"student","config":\#(f.config.json),"recommended_cfg":1,"segments":[1,0.9,0.75,0.5,0],"shift":3}"#)
        let m = try LoadedModel.load(reference: "stu", in: f.store)
        #expect(m.kind == .student && m.segmentSigmas == [1, 0.9, 0.75, 0.5, 0] && m.segmentCount == 4)
        #expect(try SampleGeneration.schedule(for: m.manifest, steps: nil, kind: nil, shift: nil, sigmas: nil).sigmas == [1, 0.9, 0.75, 0.5, 0])
        // Any explicit choice overrides the student's grid.
        #expect(try SampleGeneration.schedule(for: m.manifest, steps: 2, kind: nil, shift: nil, sigmas: nil).sigmas == SigmaSchedule.make(.fixed, steps: 2, shift: 3).sigmas)
        try f.checkpoint(run: "stu2", metadata: #"{"kind":"student","config":\#(f.config.json),"segments":2,"schedule":"diffusers"}"#)
        let m2 = try LoadedModel.load(reference: "stu2", in: f.store)
        #expect(try SampleGeneration.schedule(for: m2.manifest, steps: nil, kind: nil, shift: nil, sigmas: nil).sigmas
                == SigmaSchedule.make(.diffusers, steps: 2, shift: 3).sigmas)
    }

    /// Issue 24 item 8: a student's steps, schedule, shift and grid survive `fs-store export`, and the
    /// exported file samples on that grid by default and says it is a student.
    @Test func exportedStudentKeepsItsGrid() throws {
        let f = try Fixture(); defer { f.cleanup() }
        let meta = #"{"kind":"student","step":7,"config":\#(f.config.json),"recommended_cfg":1,"schedule":"fixed","shift":2,"segments":4,"sigmas":[1.0,0.85714287,0.6666667,0.4,0.0],"method":"flowsteer"}"#
        let a = try f.checkpoint(run: "stu", step: 7, metadata: meta)
        try f.store.exportSafetensors(a, to: f.file("student.safetensors"))
        let m = try LoadedModel.load(file: f.file("student.safetensors"))
        #expect(m.kind == .student && m.segmentCount == 4 && m.shift == 2 && m.schedule == .fixed)
        #expect(m.segmentSigmas == [1.0, 0.85714287, 0.6666667, 0.4, 0.0])
        let sched = try SampleGeneration.schedule(for: m.manifest, steps: nil, kind: nil, shift: nil, sigmas: nil)
        #expect(SamplingPlan(sigmas: sched.sigmas, guidance: m.recommendedCFG).evaluationsPerSample == 4)
        // A step count alone (older checkpoints) gives the named schedule's grid.
        let counted = try f.checkpoint(run: "stu2", step: 1, metadata: #"{"kind":"student","config":\#(f.config.json),"segments":4,"schedule":"fixed","shift":2}"#)
        let c = try LoadedModel.load(reference: counted.name, in: f.store)
        #expect(try SampleGeneration.schedule(for: c.manifest, steps: nil, kind: nil, shift: nil, sigmas: nil).sigmas == sched.sigmas)
        // A grid that contradicts the step count is bad input.
        let bad = try f.checkpoint(run: "stu3", step: 1, metadata: #"{"kind":"student","config":\#(f.config.json),"segments":2,"sigmas":[1,0.5,0.25,0]}"#)
        #expect(ToolOutcome(error: errorOf { _ = try LoadedModel.load(reference: bad.name, in: f.store) }).code == 3)
    }

    /// The shipped students carry their grid: 4 steps (4 UNet evaluations), labelled students.
    @Test func shippedStudentsCarryTheirGrid() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let expected: [(String, ScheduleKind, Float)] = [("student-flowsteer-4-tuned", .fixed, 2), ("student-flowsteer-4", .fixed, 3),
                                                         ("student-perflow-4", .fixed, 2), ("student-reflow-4", .fixed, 3),
                                                         ("student-pcm-4", .fixed, 2)]
        for (name, kind, shift) in expected {
            let m = try LoadedModel.load(file: root + "/models/\(name).safetensors")
            #expect(m.kind == .student && m.segmentCount == 4 && m.schedule == kind && m.shift == shift, "\(name)")
            let sched = try SampleGeneration.schedule(for: m.manifest, steps: nil, kind: nil, shift: nil, sigmas: nil)
            #expect(sched.sigmas == SigmaSchedule.make(kind, steps: 4, shift: shift).sigmas, "\(name)")
            #expect(SamplingPlan(sigmas: sched.sigmas, guidance: m.recommendedCFG).evaluationsPerSample == 4, "\(name)")
        }
    }

    @Test func exportedFileLoadsLikeTheArtifact() throws {
        let f = try Fixture(); defer { f.cleanup() }
        let a = try f.checkpoint()
        try f.store.exportSafetensors(a, to: f.file("export.safetensors"))
        #expect(LoadedModel.isFileReference(f.file("export.safetensors")) && !LoadedModel.isFileReference("teach@5"))
        let m = try LoadedModel.load(f.file("export.safetensors"), store: { throw ToolError.failure("no store needed") })
        #expect(sameWeights(m.model.weights, f.ema))
        #expect(m.recommendedCFG == 2.5 && m.schedule == .diffusers && m.shift == 2 && m.step == 5)
        guard case .file = m.source else { Issue.record("expected a file source"); return }
        #expect(m.artifact == nil && m.contentHash.count == 64)
        // The same file imported back into a store loads through the imported metadata.
        try f.store.importSafetensors(path: f.file("export.safetensors"), name: "imported")
        let i = try LoadedModel.load(reference: "imported", in: f.store)
        #expect(sameWeights(i.model.weights, f.ema) && i.recommendedCFG == 2.5 && i.schedule == .diffusers)
    }

    @Test func clearErrorsWithExitCode3() throws {
        let f = try Fixture(); defer { f.cleanup() }
        try f.checkpoint()
        // Unknown reference.
        var o = outcome { _ = try LoadedModel.load(reference: "nope", in: f.store) }
        #expect(o.code == 3 && o.message.contains("unknown model reference 'nope'") && o.message.contains(f.store.path))
        // Wrong kind: a trajectory bank.
        let bank = try f.store.createOrOpenBank(name: "bank", config: "{}", rowFloats: 2)
        try f.store.appendTrajectories(bank: bank, rows: [TrajectoryRow(sample: 0, seed: 0, label: 1, guidance: 1, states: [0, 1])])
        try f.store.finalizeBank(bank)
        o = outcome { _ = try LoadedModel.load(reference: "bank", in: f.store) }
        #expect(o.code == 3 && o.message.contains("trajectory_bank") && o.message.contains("not a model checkpoint"))
        // Weights that do not fit the config.
        let big = UNet(UNetConfig(channels: [16, 32], embedDim: 32)).initialParameters(seed: 3)
        try f.checkpoint(run: "bad", metadata: #"{"config":\#(f.config.json)}"#, weights: big)
        o = outcome { _ = try LoadedModel.load(reference: "bad", in: f.store) }
        #expect(o.code == 3 && o.message.contains("do not fit") && o.message.contains("shape mismatch"))
        // No config anywhere.
        try f.store.putCheckpoint(run: "noconf", step: 1, model: f.model, metadata: "{}")
        o = outcome { _ = try LoadedModel.load(reference: "noconf", in: f.store) }
        #expect(o.code == 3 && o.message.contains("config"))
        // Bad metadata values.
        try f.checkpoint(run: "badsched", metadata: #"{"config":\#(f.config.json),"schedule":"cosine"}"#)
        o = outcome { _ = try LoadedModel.load(reference: "badsched", in: f.store) }
        #expect(o.code == 3 && o.message.contains("cosine"))
        // Missing, truncated and non-safetensors files.
        o = outcome { _ = try LoadedModel.load(file: f.file("missing.safetensors")) }
        #expect(o.code == 3 && o.message.contains("missing.safetensors"))
        _ = FileManager.default.createFile(atPath: f.file("junk.safetensors"), contents: Data([1, 2, 3]))
        o = outcome { _ = try LoadedModel.load(file: f.file("junk.safetensors")) }
        #expect(o.code == 3 && o.message.contains("junk.safetensors"))
        // A file without config metadata.
        try Safetensors.write(stateDict: f.ema, metadata: [("format", "pt")], to: f.file("noconf.safetensors"))
        o = outcome { _ = try LoadedModel.load(file: f.file("noconf.safetensors")) }
        #expect(o.code == 3 && o.message.contains("config"))
    }

    /// Tools that read their inputs from the store (fs-distill, fs-eval, fs-sample) refuse a missing store
    /// with exit 3 naming the path, and do not leave an empty store behind.
    @Test func missingStoreIsBadInputAndNotCreated() throws {
        let f = try Fixture(); defer { f.cleanup() }
        let common = try CommonOptions.parse(["--store", f.file("absent.db")])
        let o = outcome { _ = try common.openExistingStore() }
        #expect(o.code == 3 && o.message.contains("absent.db") && o.message.contains("does not exist"))
        #expect(!FileManager.default.fileExists(atPath: f.file("absent.db")))
        #expect(try CommonOptions.parse(["--store", f.store.path]).openExistingStore().path == f.store.path)
    }
}
