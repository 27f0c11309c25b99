#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Store

/// A run stopped by a signal at a safe point (it can be resumed); fs-eval's and fs-sample's results are
/// simply not written.
extension RunStatus {
    public static let interrupted = "interrupted"
}

/// Graceful stops on SIGINT, SIGTERM and SIGHUP: the first signal only sets a flag that the tools poll
/// at their safe points (a training step, a rollout batch, a sampling group), where they write a
/// checkpoint or finish the batch, mark the run `interrupted`, say how to resume, and exit 128 + signal
/// (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP), as a shell expects of a killed job. A second
/// signal exits at once with the same status (the store's transactions keep it consistent, as after
/// SIGKILL). SIGPIPE is ignored so a closed stdout pipe is an I/O error, not a silent death.
public enum Interruption {
    /// Installs the handlers (idempotent). Tools call it from `CommonOptions.applyThreads()`.
    public static func install() {
        for sig in [SIGINT, SIGTERM, SIGHUP] { signal(sig, interruptionHandler) }
        signal(SIGPIPE, SIG_IGN)
    }

    /// The signal received so far, if any.
    public static var pending: Int32? {
        let s = interruptionSignal
        return s == 0 ? nil : s
    }

    /// The error a tool throws after stopping at a safe point: exit 128 + signal, and `message` (where
    /// it stopped and how to resume) on stderr.
    public static func stopped(_ signal: Int32, _ message: String) -> ToolError {
        ToolError(ExitCode(128 + signal), "stopped by \(name(signal)): \(message)")
    }

    /// Throws `stopped` when a signal is pending (for loops with nothing to save).
    public static func check(_ message: @autoclosure () -> String) throws {
        if let s = pending { throw stopped(s, message()) }
    }

    /// `SampleGeneration.generate`'s `afterGroup`: stops a sampling run between groups.
    public static func checkSampling(done: Int, of total: Int) throws {
        try check("\(done) of \(total) samples were done; nothing was written")
    }

    public static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        case SIGHUP: return "SIGHUP"
        default: return "signal \(signal)"
        }
    }

    /// For tests: forget a pending signal.
    public static func reset() { interruptionSignal = 0 }
}

nonisolated(unsafe) private var interruptionSignal: Int32 = 0

/// Async-signal-safe: a store to a global, write(2), _exit(2).
private func interruptionHandler(_ sig: Int32) {
    if interruptionSignal != 0 { _exit(128 + sig) }
    interruptionSignal = sig
    let text: StaticString = "\nsignal received: stopping at the next safe point (send it again to abort now)\n"
    _ = write(2, text.utf8Start, text.utf8CodeUnitCount)
}
