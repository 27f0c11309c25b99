import Foundation
import TensorCore

/// What made an artifact, recorded in its `code_rev`: `$FS_CODE_REV` when set (jobs/lib.sh sets the git
/// revision), else the running executable's identity, `exe-sha256:` and the first 16 hex digits of the
/// SHA-256 of its file, so an artifact made by an installed binary outside a checkout is never anonymous.
public enum CodeRevision {
    public static let current: String? = {
        if let rev = ProcessInfo.processInfo.environment["FS_CODE_REV"], !rev.isEmpty { return rev }
        return executableIdentity
    }()

    /// `exe-sha256:` + 16 hex digits of this process's executable, or nil where it cannot be read.
    public static let executableIdentity: String? = {
        guard let handle = FileHandle(forReadingAtPath: "/proc/self/exe") else { return nil }
        defer { try? handle.close() }
        var hasher = SHA256Hasher()
        while let chunk = try? handle.read(upToCount: 4 << 20), !chunk.isEmpty {
            chunk.withUnsafeBytes { hasher.update($0) }
        }
        return "exe-sha256:" + SHA256.hexString(hasher.finalize()).prefix(16)
    }()
}
