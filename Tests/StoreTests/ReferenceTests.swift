import Foundation
import Testing
@testable import Store

/// Issue 24 item 7: one resolver; a reference that means two different artifacts is an error
/// listing both exact references; `kind:name` works; an unknown reference lists the nearest.
@Suite struct ReferenceTests {
    @Test func tagAndRunOfOneNameAreAmbiguous() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let s = try ArtifactStore(path: dir.file("s.db"))
        let stu = try smallCheckpoint(s, run: "stu", step: 20)
        let teacher = try smallCheckpoint(s, run: "teacher", step: 80, seed: 5)
        // `tag` refuses the shadowing name ...
        #expect(errorText { try s.tag("stu", teacher.id) }.contains("ambiguous"))
        // ... and a tag made anyway (or a run created after the tag) is reported, not followed.
        try s.db.execute("INSERT INTO tag(name, artifact) VALUES('stu', ?)", [teacher.id])
        let text = errorText { _ = try s.resolve("stu") }
        #expect(text.contains("ambiguous") && text.contains("checkpoint:stu@20") && text.contains("checkpoint:teacher@80"), "\(text)")
        #expect(try s.resolve("stu@20").id == stu.id)
        #expect(try s.resolve("checkpoint:teacher@80").id == teacher.id)
        #expect(try s.resolve("#\(teacher.id)").id == teacher.id)
    }

    @Test func twoCheckpointsAtOneRunStepAreAmbiguousAndImportRefusesToMakeThem() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let s = try ArtifactStore(path: dir.file("s.db"))
        try smallCheckpoint(s, run: "stu", step: 20)
        writeBytes(PyTorchFixture.bytes, to: dir.file("pt.safetensors"))
        #expect(errorText { try s.importSafetensors(path: dir.file("pt.safetensors"), name: "imp", run: "stu", step: 20) }.contains("ambiguous"))
        try s.putArtifact(kind: ArtifactKind.checkpoint, name: "other", run: "stu", step: 20, tensors: [floatBlob("x", 3)])
        for ref in ["stu", "stu@20"] {
            let text = errorText { _ = try s.resolve(ref) }
            #expect(text.contains("checkpoint:stu@20") && text.contains("checkpoint:other"), "\(ref): \(text)")
        }
    }

    @Test func unknownReferenceListsNearestCandidates() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let s = try ArtifactStore(path: dir.file("s.db"))
        try smallCheckpoint(s, run: "student", step: 20)
        let text = errorText { _ = try s.resolve("studnet") }
        #expect(text.contains("unknown") && text.contains("nearest") && text.contains("student"), "\(text)")
        #expect(errorText { _ = try s.resolve("zzzz-nothing-like-it") }.contains("fs-store ls"))
    }
}
