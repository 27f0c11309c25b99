import NN
import Store
import Testing
import Train
@testable import ToolSupport

/// Errors of the lower modules reach the documented exit codes (docs/design.md) through `ToolOutcome`.
@Suite struct ExitCodeMappingTests {
    @Test func storeErrors() {
        #expect(ToolOutcome(error: StoreError.busy(path: "s.db", detail: "locked")).code == 4)
        for e in [StoreError.unknownRef("x"), .ambiguousRef("ab", candidates: ["a", "b"]), .notSQLite(path: "f"),
                  .badInput(file: "f", reason: "r"), .corrupt(path: "p", reason: "r"), .notFound("n"), .conflict("c"),
                  .newerSchema(path: "p", found: 9, supported: 1)] {
            let o = ToolOutcome(error: e)
            #expect(o.code == 3 && o.message == e.description)
        }
    }

    @Test func sqliteErrors() {
        // SQLITE_BUSY (5), SQLITE_LOCKED (6) and their extended codes are retryable (4); others fail (1).
        for code: Int32 in [5, 6, 261, 517, 262] {
            #expect(ToolOutcome(error: SQLiteError(code: code, message: "database is locked", path: "s.db")).code == 4)
        }
        for code: Int32 in [1, 10, 13, 14] {
            #expect(ToolOutcome(error: SQLiteError(code: code, message: "m", path: "s.db")).code == 1)
        }
        #expect(ToolOutcome(error: SQLiteError(code: 5, message: "busy", path: "s.db")).message.contains("s.db"))
        // SQLITE_CORRUPT (11, and extended 267, 523) and SQLITE_NOTADB (26): a damaged store file is bad input (3).
        for code: Int32 in [11, 267, 523, 26] {
            #expect(ToolOutcome(error: SQLiteError(code: code, message: "database disk image is malformed", path: "s.db")).code == 3)
        }
    }

    @Test func fileAndModelErrors() {
        let s = ToolOutcome(error: SafetensorsError(file: "m.safetensors", reason: "truncated"))
        #expect(s.code == 3 && s.message == "m.safetensors: truncated")
        let mismatch = errorOf { try StateDict().validate(against: [(key: "conv_in.weight", shape: [8, 1, 3, 3])]) }
        #expect(mismatch is StateDictMismatch)
        let m = ToolOutcome(error: mismatch)
        #expect(m.code == 3 && m.message.contains("conv_in.weight"))
        #expect(ToolOutcome(error: ScheduleError("sigma #1 = 2 is outside [0, 1]")).code == 2)
        #expect(ToolOutcome(error: ToolError.diverged("nan")).code == 5)
    }
}
