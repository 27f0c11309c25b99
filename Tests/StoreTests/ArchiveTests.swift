import Foundation
import NN
import TensorCore
import Testing
@testable import Store

@Suite struct ArchiveTests {
    /// A store with an imported PyTorch file, a trained checkpoint child, a bank and metrics.
    func populated(_ dir: TempDir) throws -> ArtifactStore {
        writeBytes(PyTorchFixture.bytes, to: dir.file("pt.safetensors"))
        let s = try ArtifactStore(path: dir.file("src.db"))
        s.chunkBytes = 100_000  // multi-chunk payloads without debug-build hashing of megabytes
        let pt = try s.importSafetensors(path: dir.file("pt.safetensors"), name: "pt-teacher")
        try s.beginRun(name: "student", kind: "distill")
        try s.recordMetrics(run: "student", [MetricPoint(step: 1, name: "loss", value: 0.75), MetricPoint(step: 2, name: "loss", value: .nan)])
        let bank = try s.createOrOpenBank(name: "bank", config: #"{"k":1}"#, rowFloats: 2, parents: [pt.id])
        try s.appendTrajectories(bank: bank, rows: [TrajectoryRow(sample: 0, seed: 7, label: 3, guidance: 1, states: [1, 2])])
        let fb = try s.finalizeBank(bank)
        let big = NamedBlob(name: "big", dtype: .F32, shape: [250_000], bytes: (0..<250_000).map { Float($0) }.withUnsafeBytes { [UInt8]($0) })
        try s.putArtifact(kind: "checkpoint", name: "student@5", run: "student", step: 5, tensors: [big], parents: [pt.id, fb.id])
        try s.putArtifact(kind: "image", name: "unrelated", tensors: [floatBlob("x", 3)])
        return s
    }

    @Test func importExportAndArchiveRestoreAreBitExact() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let s = try populated(dir)
        try s.exportSafetensors(try s.resolve("pt-teacher"), to: dir.file("back.safetensors"))
        #expect(readBytes(dir.file("back.safetensors")) == PyTorchFixture.bytes)

        try s.archive(refs: ["student"], to: dir.file("a.tar.zst"))
        let fresh = try ArtifactStore(path: dir.file("fresh.db"))
        let r = try fresh.restore(archive: dir.file("a.tar.zst"))
        #expect(r.added == 3 && r.runs == 1 && r.metrics == 2)
        #expect((try? fresh.resolve("unrelated")) == nil)  // only the lineage of "student"
        try fresh.exportSafetensors(try fresh.resolve("pt-teacher"), to: dir.file("again.safetensors"))
        #expect(readBytes(dir.file("again.safetensors")) == PyTorchFixture.bytes)
        for ref in ["student", "pt-teacher", "bank"] {
            #expect(try fresh.resolve(ref).hash == s.resolve(ref).hash, "\(ref)")
        }
        #expect(try fresh.loadBlobs(fresh.resolve("student")) == s.loadBlobs(s.resolve("student")))
        #expect(try fresh.metrics(run: "student").count == 2)
        // Idempotent.
        let r2 = try fresh.restore(archive: dir.file("a.tar.zst"))
        #expect(r2.added == 0 && r2.alreadyPresent == 3 && r2.metrics == 0)
        #expect(try fresh.verify().ok)
    }

    /// A shallow archive carries the named artifacts only (a results ledger): an evaluation comes without
    /// the student and bank behind it, but with the student's run and metrics; restored where the student
    /// is stored, the link is made again; restored anywhere else, the evaluation stands alone.
    @Test func shallowArchiveCarriesEvaluationsWithoutTheirLineage() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let s = try populated(dir)
        let student = try s.resolve("student")
        try s.putArtifact(kind: "eval_result", name: "t/abl/student", tensors: [], metadata: #"{"fid":4.5}"#, parents: [student.id])
        try s.archive(refs: ["eval_result:t/abl/student"], to: dir.file("ledger.tar.zst"), shallow: true)
        // Nothing but the evaluation's own (empty) payload: the 1 MB student is not in it.
        #expect((try FileManager.default.attributesOfItem(atPath: dir.file("ledger.tar.zst"))[.size] as? Int ?? .max) < 20_000)

        let fresh = try ArtifactStore(path: dir.file("fresh.db"))
        let r = try fresh.restore(archive: dir.file("ledger.tar.zst"))
        #expect(r.added == 1 && r.runs == 1 && r.metrics == 2)
        let e = try fresh.resolve("eval_result:t/abl/student")
        #expect(e.hash == (try s.resolve("eval_result:t/abl/student").hash) && e.parents.isEmpty)
        #expect(e.metadata.contains("4.5"))
        #expect((try? fresh.resolve("student")) == nil && (try? fresh.resolve("bank")) == nil)
        #expect(try fresh.verify().ok)

        // Into a store that holds the student: linked to it, as in the store it came from.
        try s.archive(refs: ["student"], to: dir.file("student.tar.zst"))
        let linked = try ArtifactStore(path: dir.file("linked.db"))
        try linked.restore(archive: dir.file("student.tar.zst"))
        try linked.restore(archive: dir.file("ledger.tar.zst"))
        #expect(try linked.resolve("eval_result:t/abl/student").parents == [try linked.resolve("student").id])
        // A full archive of the same reference still carries the whole lineage.
        try s.archive(refs: ["eval_result:t/abl/student"], to: dir.file("deep.tar.zst"))
        let deep = try ArtifactStore(path: dir.file("deep.db"))
        #expect(try deep.restore(archive: dir.file("deep.tar.zst")).added == 4)
    }

    /// `archive` streams payloads from SQLite; each entry must still be exactly
    /// `Safetensors.encode(payload(a))` (a bank over the 8 MB staging buffer, multi-chunk tensors).
    @Test func streamedPayloadsEqualEncodedPayloads() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let s = try populated(dir)
        let rowFloats = 50_000
        let bank = try s.createOrOpenBank(name: "wide", config: "{}", rowFloats: rowFloats)
        var rng = SplitMix64(seed: 11)
        let rows = (0..<45).map { i in
            TrajectoryRow(sample: 44 - i, seed: rng.next(), label: i % 10, guidance: Float(i) / 4,
                          states: (0..<rowFloats).map { _ in Float(Int32(truncatingIfNeeded: rng.next())) * 0x1p-31 })
        }
        try s.appendTrajectories(bank: bank, rows: Array(rows[0..<20]))
        try s.appendTrajectories(bank: bank, rows: Array(rows[20...]))
        try s.archive(refs: [], to: dir.file("all.tar.zst"))
        let reader = try TarReader(path: dir.file("all.tar.zst"))
        var seen = 0
        while let e = try reader.next() {
            guard e.name.hasPrefix("artifacts/"), let id = Int64(e.name.dropFirst(10).dropLast(12)) else { continue }
            #expect(e.bytes == (try Safetensors.encode(s.payload(s.artifact(id)))), "\(e.name)")
            seen += 1
        }
        #expect(seen == (try s.artifacts().count))
        let (_, records) = try ArtifactStore.checkArchive(dir.file("all.tar.zst"))
        #expect(records.count == seen)
    }

    @Test func damagedArchivesLeaveTheStoreUnchanged() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let s = try populated(dir)
        try s.archive(refs: [], to: dir.file("all.tar.zst"))
        let good = readBytes(dir.file("all.tar.zst"))
        let target = try ArtifactStore(path: dir.file("target.db"))
        try target.putArtifact(kind: "checkpoint", name: "keep", tensors: [floatBlob("k", 4)])
        let before = try snapshot(target)

        // Truncated at several points.
        for cut in [good.count / 3, good.count / 2, good.count - 100] {
            writeBytes(Array(good.prefix(cut)), to: dir.file("cut.tar.zst"))
            let e = errorText { try target.restore(archive: dir.file("cut.tar.zst")) }
            #expect(e.contains("cut.tar.zst"), "cut \(cut): \(e)")
            #expect(try snapshot(target) == before)
        }
        // A manifest whose checksum does not match its payload.
        let bad = dir.file("bad.tar.zst")
        try rewriteManifest(dir.file("all.tar.zst"), to: bad) { $0.replacingOccurrences(of: "\"sha256\":\"", with: "\"sha256\":\"00") }
        let e = errorText { try target.restore(archive: bad) }
        #expect(e.contains("bad.tar.zst") && e.contains("checksum mismatch"), "\(e)")
        #expect(try snapshot(target) == before)
        // A different artifact of the same name is refused, nothing written.
        let clash = try ArtifactStore(path: dir.file("clash.db"))
        try clash.putArtifact(kind: "image", name: "unrelated", tensors: [floatBlob("x", 3, seed: 5)])
        let before2 = try snapshot(clash)
        #expect(errorText { try clash.restore(archive: dir.file("all.tar.zst")) }.contains("already exists"))
        #expect(try snapshot(clash) == before2)
        // Not an archive at all.
        writeBytes(Array("hello".utf8), to: dir.file("junk.tar.zst"))
        #expect(errorText { try target.restore(archive: dir.file("junk.tar.zst")) }.contains("junk.tar.zst"))
        #expect(try snapshot(target) == before)
    }

    /// Re-packs an archive with an edited manifest (payloads unchanged).
    func rewriteManifest(_ src: String, to dst: String, _ edit: (String) -> String) throws {
        let r = try TarReader(path: src)
        let w = try TarZstWriter(path: dst)
        while let e = try r.next() {
            let bytes = e.name == ArtifactStore.manifestName ? Array(edit(String(decoding: e.bytes, as: UTF8.self)).utf8) : e.bytes
            try bytes.withUnsafeBytes { try w.add(name: e.name, bytes: $0, mtime: 0) }
        }
        try w.close()
    }
}
