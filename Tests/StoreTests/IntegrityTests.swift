import Foundation
import NN
import Testing
@testable import Store

/// Issue 24 item 1: payload bytes altered inside the store are never used or copied out.
@Suite struct IntegrityTests {
    func alter(_ s: ArtifactStore, _ a: ArtifactRecord) throws {
        try s.db.execute("UPDATE blob_chunk SET data = zeroblob(length(data)) WHERE artifact = ? AND ordinal = 0", [a.id])
    }

    @Test func alteredCheckpointIsRefusedByEveryReader() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let s = try ArtifactStore(path: dir.file("s.db"))
        let a = try smallCheckpoint(s, run: "stu", step: 20)
        try alter(s, a)
        #expect(try !s.verify().ok)
        for (what, body) in [("loadBlobs", { _ = try s.loadBlobs(a) }), ("loadSamplingWeights", { _ = try s.loadSamplingWeights(a) }),
                             ("loadStateDict", { _ = try s.loadStateDict(a, prefix: "ema.") }),
                             ("export", { try s.exportSafetensors(a, to: dir.file("x.safetensors")) }),
                             ("payload", { _ = try s.payload(a) })] as [(String, () throws -> Void)] {
            let text = errorText(body)
            #expect(text.contains("stu@20") && text.contains("altered"), "\(what): \(text)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("x.safetensors")))
        // archive: exit-3 error naming the artifact, and no archive (nor temporary file) left behind
        var thrown: Error?
        do { try s.archive(refs: [], to: dir.file("b.tar.zst")) } catch { thrown = error }
        #expect((thrown as? StoreError)?.exitCode == 3 && "\(thrown!)".contains("checkpoint:stu@20"), "\(String(describing: thrown))")
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("b.tar.zst") }
        #expect(left.isEmpty, "\(left)")
    }

    @Test func alteredBankIsRefusedByReadBankAndArchive() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let s = try ArtifactStore(path: dir.file("s.db"))
        let bank = try s.createOrOpenBank(name: "bank", config: "{}", rowFloats: 2)
        try s.appendTrajectories(bank: bank, rows: [TrajectoryRow(sample: 0, seed: 1, label: 2, guidance: 1, states: [1, 2])])
        let done = try s.finalizeBank(bank)
        try s.db.execute("UPDATE trajectory_row SET states = zeroblob(8) WHERE bank = ?", [done.id])
        #expect(errorText { _ = try s.readBank(done) }.contains("trajectory_bank 'bank'"))
        #expect(errorText { try s.archive(refs: ["bank"], to: dir.file("b.tar.zst")) }.contains("altered"))
        #expect(!FileManager.default.fileExists(atPath: dir.file("b.tar.zst")))
    }

    @Test func intactStoreStillArchivesAndRestores() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let s = try ArtifactStore(path: dir.file("s.db"))
        let a = try smallCheckpoint(s, run: "stu", step: 20)
        try s.archive(refs: [], to: dir.file("ok.tar.zst"))
        let t = try ArtifactStore(path: dir.file("t.db"))
        #expect(try t.restore(archive: dir.file("ok.tar.zst")).added == 1)
        #expect(try t.loadBlobs(t.resolve("stu")).map(\.bytes) == s.loadBlobs(a).map(\.bytes))
    }
}
