import Foundation

/// Output files are checked before the work that produces them: a PNG path in a missing or read-only
/// directory used to fail only after all the sampling. A usage error (exit 2) naming the flag and path.
public enum OutputPath {
    /// Throws unless `path` (when given) can be created or replaced: its directory exists and is
    /// writable, and the path itself is not a directory.
    public static func check(_ flag: String, _ path: String?) throws {
        guard let path else { return }
        guard !path.isEmpty else { throw ToolError.usage("\(flag): empty path") }
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            throw ToolError.usage("\(flag) \(path) is a directory, not a file path")
        }
        let dir = (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent
        guard fm.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw ToolError.usage("\(flag) \(path): directory \(dir) does not exist")
        }
        // A real probe file: permission bits say nothing for root, read-only mounts or /proc.
        let probe = (dir as NSString).appendingPathComponent(".fs-write-probe-\(getpid())")
        let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            throw ToolError.usage("\(flag) \(path): directory \(dir) is not writable (\(String(cString: strerror(errno))))")
        }
        close(fd)
        unlink(probe)
        if fm.fileExists(atPath: path), !fm.isWritableFile(atPath: path) {
            throw ToolError.usage("\(flag) \(path) exists and is not writable")
        }
    }
}
