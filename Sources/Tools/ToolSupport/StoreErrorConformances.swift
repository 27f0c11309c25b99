import ArgumentParser
import NN
import Store

// Exit codes (docs/design.md) for the errors of the store and the NN file formats, so every tool that
// lets them escape from `runAsTool`/`runTool` prints one line and exits with the documented status:
// 3 for a bad input artifact or file, 4 for a store locked past its busy timeout (retryable), 1 otherwise.

/// Unknown/ambiguous references, not-a-store files, corrupt payloads and conflicts are bad input (3);
/// `busy` is retryable (4) — the mapping of `StoreError.exitCode`.
extension StoreError: ToolExitCoded {
    public var toolExitCode: ExitCode { ExitCode(exitCode) }
}

/// SQLITE_BUSY / SQLITE_LOCKED (another process kept the lock past the busy timeout) is retryable (4);
/// SQLITE_CORRUPT / SQLITE_NOTADB (a damaged store file) is bad input (3); any other SQLite failure
/// (I/O error, full disk, ...) is a plain failure (1).
extension SQLiteError: ToolExitCoded {
    public var toolExitCode: ExitCode { isBusy ? .busy : isCorrupt ? .badInput : .failure }
}

/// A malformed, truncated or non-F32 safetensors file is bad input (3).
extension SafetensorsError: ToolExitCoded {
    public var toolExitCode: ExitCode { .badInput }
}

/// Weights whose keys or shapes do not fit the UNet their config describes are bad input (3).
extension StateDictMismatch: ToolExitCoded {
    public var toolExitCode: ExitCode { .badInput }
}
