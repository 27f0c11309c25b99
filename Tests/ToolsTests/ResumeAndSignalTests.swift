#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import ToolSupport

/// Issue 24 item 9: --resume refuses silently different settings; signals stop at a safe point.
@Suite struct ResumeAndSignalTests {
    let recorded = #"{"batch_size":16,"learning_rate":0.002,"model":{"channels":[8,16]},"seed":0,"steps":10}"#

    @Test func differencesAreNamedWithTheirRecordedValues() throws {
        let wanted = #"{"batch_size":16,"learning_rate":0.5,"model":{"channels":[8,16]},"seed":3,"steps":20}"#
        let changes = try ResumeConfig.changes(recorded: recorded, wanted: wanted, flags: ["learning_rate": "--lr", "seed": "--seed"],
                                               ignoring: ["steps"])
        #expect(changes.map(\.key) == ["learning_rate", "seed"])
        let refusal = ToolOutcome(error: errorOf { _ = try ResumeConfig.enforce(changes, run: "r", override: false) })
        #expect(refusal.code == 2)
        #expect(refusal.message.contains("--lr 0.5 (recorded: 0.002)") && refusal.message.contains("--seed 3 (recorded: 0)"))
        #expect(refusal.message.contains("--override-config"))
        #expect(try ResumeConfig.enforce(changes, run: "r", override: true) == changes)
        // The same settings as recorded are no change at all.
        #expect(try ResumeConfig.changes(recorded: recorded, wanted: recorded).isEmpty)
    }

    @Test func fixedKeysAreRefusedEvenWithOverride() throws {
        let wanted = #"{"batch_size":16,"learning_rate":0.002,"model":{"channels":[8,32]},"seed":0,"steps":10}"#
        let changes = try ResumeConfig.changes(recorded: recorded, wanted: wanted, flags: ["model": "--channels"])
        let o = ToolOutcome(error: errorOf { _ = try ResumeConfig.enforce(changes, run: "r", override: true, fixed: ["model"]) })
        #expect(o.code == 2 && o.message.contains("--channels"))
    }

    @Test func overridesAreRecordedInTheRunConfig() throws {
        let c = [ResumeConfig.Change(key: "learning_rate", flag: "--lr", recorded: "0.002", given: "0.5")]
        let first = try ResumeConfig.recording(recorded, step: 4, changes: c, previous: nil)
        #expect(first.contains(#""resume_overrides":[{"step":4,"changes":[{"key":"learning_rate","from":0.002,"to":0.5}]}]"#))
        // A later resume without changes keeps the history.
        let later = try ResumeConfig.recording(recorded, step: 8, changes: [], previous: first)
        #expect(later.contains(#""step":4"#))
    }

    /// The first SIGTERM only sets the flag the tools poll (a second one would exit the process).
    @Test func firstSignalIsPolledNotFatal() throws {
        Interruption.install()
        defer { Interruption.reset() }
        #expect(Interruption.pending == nil)
        kill(getpid(), SIGTERM)   // process-directed: the test runner's threads may block it on this one
        for _ in 0..<200 where Interruption.pending == nil { usleep(5000) }
        #expect(Interruption.pending == SIGTERM)
        let o = ToolOutcome(error: errorOf { try Interruption.check("at step 3") })
        #expect(o.code == 143 && o.message.contains("SIGTERM") && o.message.contains("at step 3"))
    }
}

/// Hostile-probe finding: `--steps -1` was reported as "Missing value for '--steps'".
@Suite struct NegativeValueTests {
    @Test func negativeNumbersAreNamedAsSuch() {
        let m = "Missing value for '--steps <steps>'\nUsage: fs-sample <options>"
        let hint = ParsableCommandProbe.negativeValueHint(m, arguments: ["fs-sample", "--steps", "-1"])
        #expect(hint == "--steps -1: negative values are not allowed for --steps\nUsage: fs-sample <options>")
        #expect(ParsableCommandProbe.negativeValueHint(m, arguments: ["fs-sample", "--steps"]) == nil)
        #expect(ParsableCommandProbe.negativeValueHint(m, arguments: ["fs-sample", "--steps", "--json"]) == nil)
    }
}

import ArgumentParser
private struct ParsableCommandProbe: ParsableCommand {}
