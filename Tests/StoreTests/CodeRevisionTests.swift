import Foundation
import TensorCore
import Testing
@testable import Store

@Suite struct CodeRevisionTests {
    /// Without $FS_CODE_REV an artifact records the executable's hash: it must be this process's file.
    @Test func executableIdentityIsTheHashOfThisProcess() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: "/proc/self/exe"))
        let expected = "exe-sha256:" + SHA256.hex([UInt8](bytes)).prefix(16)
        #expect(CodeRevision.executableIdentity == expected)
    }

    /// A store opened without an explicit revision stamps its artifacts with the current one.
    @Test func artifactsRecordTheCurrentRevision() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let s = try ArtifactStore(path: dir.file("s.db"))
        let a = try s.putArtifact(kind: "checkpoint", name: "c", tensors: [])
        #expect(a.codeRev == CodeRevision.current)
        #expect(a.codeRev != nil)
    }
}
