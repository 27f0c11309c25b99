import ArgumentParser

/// The exit codes every tool uses (docs/design.md), as ArgumentParser's `ExitCode` so a command can
/// `throw ExitCode.badInput` after printing its own message. `.success` (0) and `.failure` (1) are
/// ArgumentParser's own. Scripts and Slurm retry logic rely on these numbers: 4 is the only retryable one.
extension ExitCode {
    /// 2: the command line is wrong (unknown flag, bad value, missing argument).
    public static var usage: ExitCode { ExitCode(2) }
    /// 3: an input artifact or file is missing, unknown, of the wrong kind, corrupt or truncated.
    public static var badInput: ExitCode { ExitCode(3) }
    /// 4: the store stayed locked by another process past the busy timeout; retrying may succeed.
    public static var busy: ExitCode { ExitCode(4) }
    /// 5: training or distillation diverged (NaN or exploding loss); the last good checkpoint is kept.
    public static var diverged: ExitCode { ExitCode(5) }
}

/// An error that knows which exit code it deserves. Errors of lower modules (which cannot import
/// ToolSupport) get this conformance in ToolSupport; tools can throw `ToolError` directly.
public protocol ToolExitCoded: Error, CustomStringConvertible {
    var toolExitCode: ExitCode { get }
}

/// A failure a tool reports as `tool: message` on stderr before exiting with `code`.
public struct ToolError: ToolExitCoded, Sendable {
    /// The process exit status (see the `ExitCode` constants).
    public let code: Int32
    public let message: String

    public init(_ code: ExitCode, _ message: String) {
        self.code = code.rawValue
        self.message = message
    }

    public var toolExitCode: ExitCode { ExitCode(code) }
    public var description: String { message }

    public static func failure(_ message: String) -> ToolError { ToolError(.failure, message) }
    public static func usage(_ message: String) -> ToolError { ToolError(.usage, message) }
    public static func badInput(_ message: String) -> ToolError { ToolError(.badInput, message) }
    public static func busy(_ message: String) -> ToolError { ToolError(.busy, message) }
    public static func diverged(_ message: String) -> ToolError { ToolError(.diverged, message) }
}
