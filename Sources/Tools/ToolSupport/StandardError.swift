#if canImport(Glibc)
import Glibc
private func rawWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { Glibc.write(fd, p, n) }
#elseif canImport(Darwin)
import Darwin
private func rawWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { Darwin.write(fd, p, n) }
#endif

/// Writes to file descriptor 2 directly. Swift 6 rejects the C `stderr` global as shared mutable
/// state, and unbuffered `write(2)` keeps progress lines and error messages in order.
public enum StandardError {
    public static func write(_ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        bytes.withUnsafeBytes { p in
            while offset < p.count {
                let n = rawWrite(2, p.baseAddress! + offset, p.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                offset += n
            }
        }
    }

    /// Writes `line` followed by a newline.
    public static func line(_ line: String) { write(line + "\n") }

    /// True when stderr is a terminal (a live progress bar makes sense); false for files and pipes.
    public static var isTerminal: Bool { isatty(2) != 0 }
}
