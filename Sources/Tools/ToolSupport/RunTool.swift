import ArgumentParser
import Foundation

/// How a tool ends after an error: the exit status and the one-line message for stderr
/// (empty when the error carries no text, e.g. a bare `ExitCode` thrown after printing).
public struct ToolOutcome: Equatable, Sendable {
    public let code: Int32
    public let message: String

    /// Maps any error to the documented exit codes: `ToolExitCoded` errors carry their own code,
    /// `ValidationError` is a usage error (2), `ExitCode` exits as given, anything else is a failure (1).
    public init(error: Error) {
        switch error {
        case let e as ToolExitCoded: self.init(code: e.toolExitCode.rawValue, message: e.description)
        case let e as ExitCode: self.init(code: e.rawValue, message: "")
        case let e as ValidationError: self.init(code: ExitCode.usage.rawValue, message: e.message)
        default: self.init(code: ExitCode.failure.rawValue, message: String(describing: error))
        }
    }

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }
}

/// Runs a tool's body and exits: 0 on return, otherwise `name: message` on stderr and the exit code
/// of `ToolOutcome(error:)`. Keeps every tool's failure output one grep-able line in Slurm logs.
public func runTool(_ name: String, _ body: () throws -> Void) -> Never {
    do {
        try body()
    } catch {
        let outcome = ToolOutcome(error: error)
        if !outcome.message.isEmpty { StandardError.line("\(name): \(outcome.message)") }
        Foundation.exit(outcome.code)
    }
    Foundation.exit(0)
}

extension ParsableCommand {
    /// A `main()` with the toolkit's conventions, for `@main` tools: `static func main() { runAsTool() }`.
    ///
    /// ArgumentParser's own `main()` exits 64 (EX_USAGE) on bad arguments; the design fixes usage
    /// errors at 2. Help and `--version` print on stdout and exit 0. Errors thrown from `run()` get
    /// the exit code of `ToolOutcome(error:)` and print as `tool: message` on stderr.
    public static func runAsTool(_ arguments: [String]? = nil) -> Never {
        let name = configuration.commandName
            ?? (CommandLine.arguments.first.map { ($0 as NSString).lastPathComponent } ?? "tool")
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            let (outcome, toStdout) = toolOutcome(for: error)
            if toStdout {
                print(outcome.message)
            } else if !outcome.message.isEmpty {
                StandardError.line("\(name): \(outcome.message)")
            }
            Foundation.exit(outcome.code)
        }
        Foundation.exit(0)
    }

    /// Like `ToolOutcome(error:)`, but also understands ArgumentParser's own errors (parse errors,
    /// help requests, which may be thrown while parsing or from the built-in help subcommand's `run()`).
    /// Returns whether the message belongs on stdout (help text) rather than stderr.
    /// ArgumentParser reads `--steps -1` as a missing value (the -1 looks like a flag); say what happened.
    static func negativeValueHint(_ message: String, arguments: [String] = CommandLine.arguments) -> String? {
        guard message.hasPrefix("Missing value for '--"),
              let flag = message.dropFirst("Missing value for '".count).split(separator: " ").first.map(String.init),
              let i = arguments.firstIndex(of: flag), i + 1 < arguments.count,
              arguments[i + 1].hasPrefix("-"), Double(arguments[i + 1]) != nil else { return nil }
        let rest = message.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).dropFirst()
        return (["\(flag) \(arguments[i + 1]): negative values are not allowed for \(flag)"] + rest.map(String.init))
            .joined(separator: "\n")
    }

    public static func toolOutcome(for error: Error) -> (ToolOutcome, toStdout: Bool) {
        if error is ToolExitCoded || error is ExitCode { return (ToolOutcome(error: error), false) }
        let code = exitCode(for: error)
        var message = fullMessage(for: error)
        if message.hasPrefix("Error: ") { message.removeFirst("Error: ".count) }
        if code == .success { return (ToolOutcome(code: 0, message: message), true) }
        if code == .validationFailure {
            return (ToolOutcome(code: ExitCode.usage.rawValue, message: negativeValueHint(message) ?? message), false)
        }
        return (ToolOutcome(code: code.rawValue, message: message), false)
    }
}
