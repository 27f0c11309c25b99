import Foundation
import NN
import TensorCore
import Testing
@testable import Store

@Suite struct ArtifactStoreTests {
    @Test func checkpointsReferencesAndSamplingWeights() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let s = try ArtifactStore(path: dir.file("s.db"))
        try s.beginRun(name: "teacher", kind: "train", config: #"{"lr":0.001}"#)
        let w = StateDict([("conv.weight", Tensor(shape: [2, 2], data: [1, 2, 3, 4]))])
        let e = StateDict([("conv.weight", Tensor(shape: [2, 2], data: [5, 6, 7, 8]))])
        let c1 = try s.putCheckpoint(run: "teacher", step: 100, model: w, ema: e, optM: w, optV: w,
                                     metadata: #"{"step":100,"config":{"ch":2},"recommended_cfg":1.5}"#)
        let c2 = try s.putCheckpoint(run: "teacher", step: 200, model: e, ema: w)
        #expect(try s.resolve("teacher").id == c2.id)
        #expect(try s.resolve("teacher@100").id == c1.id)
        #expect(try s.resolve(String(c1.hash.prefix(8))).id == c1.id)
        #expect(try s.resolve("#\(c1.id)").id == c1.id)
        #expect(try s.loadSamplingWeights(c1) == e)
        #expect(try s.loadStateDict(c1, prefix: "opt.v.") == w)
        #expect(errorText { _ = try s.resolve("nobody") }.contains("unknown artifact reference 'nobody'"))
        // Same name, same content: idempotent; different content: refused.
        #expect(try s.putCheckpoint(run: "teacher", step: 200, model: e, ema: w).id == c2.id)
        #expect(errorText { try s.putCheckpoint(run: "teacher", step: 200, model: w) }.contains("already exists"))
        // Export: EMA under plain names, PyTorch metadata.
        try s.exportSafetensors(c1, to: dir.file("c1.safetensors"))
        let f = try Safetensors.read(path: dir.file("c1.safetensors"))
        #expect(f.entries.map(\.name) == ["conv.weight"])
        #expect(try f.stateDict() == e)
        #expect(f.metadata?.map(\.key) == ["format", "config", "recommended_cfg", "step"])
        #expect(f.metadataValue("config") == #"{"ch":2}"#)
        #expect(f.metadataValue("recommended_cfg") == "1.5")
        // --recommended-cfg replaces the recorded guidance, or adds it; the tensors are unchanged.
        try s.exportSafetensors(c1, to: dir.file("w.safetensors"), recommendedCFG: 1.25)
        let fw = try Safetensors.read(path: dir.file("w.safetensors"))
        #expect(fw.metadata?.map(\.key) == f.metadata?.map(\.key))
        #expect(fw.metadataValue("recommended_cfg") == "1.25" && fw.entries == f.entries)
        try s.exportSafetensors(c2, to: dir.file("w2.safetensors"), recommendedCFG: 2)
        #expect(try Safetensors.read(path: dir.file("w2.safetensors")).metadataValue("recommended_cfg") == "2.0")
        #expect(errorText { try s.exportSafetensors(c1, to: dir.file("x.safetensors"), recommendedCFG: .nan) }
            .contains("a guidance weight is a finite number"))
        let blob = try s.putArtifact(kind: "samples", name: "grid", tensors: [floatBlob("x", 4)])
        #expect(errorText { try s.exportSafetensors(blob, to: dir.file("x.safetensors"), recommendedCFG: 1) }
            .contains("'grid' (samples) does not export as a model file"))
        #expect(!FileManager.default.fileExists(atPath: dir.file("x.safetensors")))
        try s.recordMetrics(run: "teacher", [MetricPoint(step: 1, name: "loss", value: 0.5), MetricPoint(step: 2, name: "loss", value: 0.25)])
        #expect(try s.metrics(run: "teacher", name: "loss").map(\.value) == [0.5, 0.25])
        try s.setRunStatus("teacher", RunStatus.finished)
        #expect(try s.run("teacher")?.status == "finished")
    }

    @Test func lineageRemoveAndGc() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let s = try ArtifactStore(path: dir.file("s.db"))
        let t = try s.putArtifact(kind: "checkpoint", name: "teacher", tensors: [floatBlob("w", 10)])
        let b = try s.createOrOpenBank(name: "bank", config: "{}", rowFloats: 4, parents: [t.id])
        let st = try s.putArtifact(kind: "checkpoint", name: "student", tensors: [floatBlob("w", 10, seed: 2)], parents: [t.id, b.id])
        #expect(try s.lineageClosure(of: [st.id]) == [t.id, b.id, st.id])
        #expect(errorText { try s.remove(t.id) }.contains("is a parent of"))
        try s.remove(st.id)
        try s.remove(b.id)
        try s.remove(t.id)
        try s.gc()
        #expect(try s.db.scalarInt("SELECT COUNT(*) FROM blob_chunk") == 0)
        #expect(try s.verify().ok)
    }

    @Test func thinKeepsTheNewestReferencedAndTaggedCheckpoints() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let s = try ArtifactStore(path: dir.file("s.db"))
        let a = try (1...5).map { try smallCheckpoint(s, run: "a", step: $0 * 100, seed: Float($0)) }
        for i in 1...2 { try smallCheckpoint(s, run: "b", step: i * 100, seed: Float(10 + i)) }
        // a@200 is an evaluation's parent and a@300 is tagged: both stay.
        try s.putArtifact(kind: "eval_result", name: "eval-a200", tensors: [], parents: [a[1].id])
        try s.tag("best", a[2].id)
        #expect(try s.thinnableCheckpoints(runs: ["a", "b"], keepLast: 1).map(\.name) == ["a@100", "a@400", "b@100"])
        #expect(try s.thinnableCheckpoints(runs: ["a"], keepLast: 2).map(\.name) == ["a@100"])
        // A run without checkpoints names itself and removes nothing, even after a run that has some.
        #expect(errorText { _ = try s.thinCheckpoints(runs: ["a", "nosuch"], keepLast: 1) }.contains("'nosuch' has no checkpoints"))
        #expect(errorText { _ = try s.thinCheckpoints(runs: ["a"], keepLast: 0) }.contains("keep at least 1"))
        #expect(try s.artifacts(kind: "checkpoint").count == 7)
        let removed = try s.thinCheckpoints(runs: ["a", "b"], keepLast: 1)
        #expect(removed.map(\.name) == ["a@100", "a@400", "b@100"])
        #expect(try s.artifacts(kind: "checkpoint").map(\.name).sorted() == ["a@200", "a@300", "a@500", "b@200"])
        #expect(try s.resolve("a").name == "a@500" && s.resolve("b").name == "b@200")
        try s.gc()
        #expect(try s.verify().ok)
        #expect(try s.thinCheckpoints(runs: ["a", "b"], keepLast: 1).isEmpty)
    }

    @Test func gcReportsTheBytesCompactionReclaims() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let s = try ArtifactStore(path: dir.file("s.db"))
        // Three checkpoints of 2 x 256 KiB; thinning removes two, whose payload rows cascade, so gc finds no
        // orphans but its VACUUM gives about 1 MiB back.
        for step in [100, 200, 300] {
            let w = Tensor(shape: [65536], data: (0..<65536).map { Float($0 % 977) * 1e-3 + Float(step) })
            try s.putCheckpoint(run: "a", step: step, model: StateDict([("w", w)]), ema: StateDict([("w", w)]))
        }
        _ = try s.thinCheckpoints(runs: ["a"], keepLast: 1)
        let r = try s.gc()
        #expect(r.removedRows == 0)
        #expect(r.bytesBefore > 1_500_000, "\(r.bytesBefore)")
        #expect(r.bytesAfter < r.bytesBefore - 900_000 && r.bytesAfter > 500_000, "\(r.bytesBefore) -> \(r.bytesAfter)")
    }

    @Test func trajectoryBankAppendResumeFinalizeRead() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let s = try ArtifactStore(path: dir.file("s.db"))
        func rows(_ r: Range<Int>) -> [TrajectoryRow] {
            r.map { TrajectoryRow(sample: $0, seed: UInt64($0) &* 0x9E3779B97F4A7C15, label: $0 % 10, guidance: 1.5, states: (0..<12).map { Float($0) + Float($0 * 100) }) }
        }
        var bank = try s.createOrOpenBank(name: "rollout", config: #"{"steps":2}"#, rowFloats: 12)
        try s.appendTrajectories(bank: bank, rows: rows(0..<5))
        // A resumed writer reopens the bank, sees what exists and may re-append identical rows.
        let again = try ArtifactStore(path: dir.file("s.db"))
        bank = try again.createOrOpenBank(name: "rollout", config: #"{"steps":2}"#, rowFloats: 12)
        #expect(try again.existingSampleIndices(bank: bank) == Set(0..<5))
        try again.appendTrajectories(bank: bank, rows: rows(3..<9))
        #expect(errorText { _ = try again.createOrOpenBank(name: "rollout", config: #"{"steps":3}"#, rowFloats: 12) }.contains("different config"))
        var bad = rows(2..<3); bad[0].label = 7
        #expect(errorText { try again.appendTrajectories(bank: bank, rows: bad) }.contains("different sample 2"))
        bank = try again.finalizeBank(bank)
        #expect(bank.state == "complete" && bank.hash.count == 64 && bank.size == 9 * 12 * 4)
        let read = try again.readBank(bank)
        #expect(read.samples == Array(0..<9) && read.rowFloats == 12)
        #expect(try again.bankRows(bank) == rows(0..<9))
        #expect(errorText { try again.appendTrajectories(bank: bank, rows: rows(9..<10)) }.contains("finalized"))
        #expect(try again.verify().ok)
    }

    @Test func mergeShardsCombinesBanks() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        func row(_ i: Int) -> TrajectoryRow { TrajectoryRow(sample: i, seed: UInt64(i), label: i % 10, guidance: 2, states: [Float(i), 1, 2]) }
        var expected: ArtifactRecord?
        for (k, range) in [(0, 0..<4), (1, 4..<7)] {
            let s = try ArtifactStore(path: dir.file("shard\(k).db"))
            let t = try s.putArtifact(kind: "checkpoint", name: "teacher", tensors: [floatBlob("w", 6)])
            try s.beginRun(name: "rollout-\(k)", kind: "rollout")
            try s.recordMetric(run: "rollout-\(k)", step: 0, name: "rows", value: Double(range.count))
            let b = try s.createOrOpenBank(name: "bank", config: "{}", rowFloats: 3, parents: [t.id])
            try s.appendTrajectories(bank: b, rows: range.map(row))
            try s.finalizeBank(b)
        }
        let one = try ArtifactStore(path: dir.file("one.db"))
        let b = try one.createOrOpenBank(name: "bank", config: "{}", rowFloats: 3)
        try one.appendTrajectories(bank: b, rows: (0..<7).map(row))
        expected = try one.finalizeBank(b)

        let m = try ArtifactStore(path: dir.file("merged.db"))
        let summary = try m.merge(shards: [dir.file("shard0.db"), dir.file("shard1.db")])
        #expect(summary.runs == 2 && summary.metrics == 2)
        let merged = try m.resolve("bank", kind: ArtifactKind.trajectoryBank)
        #expect(merged.state == "complete" && merged.hash == expected?.hash)
        #expect(try m.artifact(merged.id).parents == [try m.resolve("teacher", kind: "checkpoint").id])
        #expect(try m.verify().ok)
        // Merging again changes nothing but is allowed (idempotent rows).
        try m.merge(shards: [dir.file("shard1.db")])
        #expect(try m.resolve("bank", kind: ArtifactKind.trajectoryBank).hash == expected?.hash)
        // A conflicting shard aborts the whole merge and leaves the target unchanged.
        let c = try ArtifactStore(path: dir.file("conflict.db"))
        try c.putArtifact(kind: "checkpoint", name: "teacher", tensors: [floatBlob("w", 6, seed: 9)])
        let before = try snapshot(m)
        #expect(errorText { try m.merge(shards: [dir.file("conflict.db")]) }.contains("already exists"))
        #expect(try snapshot(m) == before)
    }

    @Test func notSQLiteAndNewerSchemaAreClear() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        writeBytes(Array("this is not a database, just text that is long enough".utf8), to: dir.file("junk.db"))
        let e1 = errorText { _ = try ArtifactStore(path: dir.file("junk.db")) }
        #expect(e1.contains(dir.file("junk.db")) && e1.contains("not an SQLite database"))
        #expect(readBytes(dir.file("junk.db")) == Array("this is not a database, just text that is long enough".utf8))
        do {
            let s = try ArtifactStore(path: dir.file("new.db"))
            try s.db.execute("PRAGMA user_version = 99")
        }
        let e2 = errorText { _ = try ArtifactStore(path: dir.file("new.db")) }
        #expect(e2.contains(dir.file("new.db")) && e2.contains("newer than this binary"))
        let e3 = errorText { _ = try ArtifactStore(path: dir.file("missing.db"), create: false) }
        #expect(e3.contains("missing.db"))
    }

    /// A b-tree page SQLite cannot read (SQLITE_CORRUPT while checking) is a problem in `verify`'s
    /// report naming the file, not a thrown error (fs-store verify exits 3 on it, not 1).
    @Test func verifyReportsDamagedPagesAsProblems() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let path = dir.file("damaged.db")
        var root = 0, pageSize = 0
        do {
            let s = try ArtifactStore(path: path)
            _ = try s.putArtifact(kind: "checkpoint", name: "w", tensors: [floatBlob("w", 50_000)])
            #expect(try s.verify().ok)
            root = try s.db.scalarInt("SELECT rootpage FROM sqlite_master WHERE name = 'blob'") ?? 0
            pageSize = try s.db.scalarInt("PRAGMA page_size") ?? 0
        }   // closed: the WAL is checkpointed into the file
        #expect(root > 1 && pageSize > 0)
        var bytes = readBytes(path)
        bytes[(root - 1) * pageSize] = 0xFF          // an invalid b-tree page type
        writeBytes(bytes, to: path)
        let report = try ArtifactStore(path: path, create: false).verify()
        #expect(!report.ok)
        #expect(report.problems.contains { $0.contains(path) && $0.contains("damaged") }, "\(report.problems)")
    }
}
