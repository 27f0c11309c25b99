import ArgumentParser
import Datasets
import TensorCore
import Train
import Testing
@testable import ToolSupport

private struct Sample: ParsableCommand {
    func run() throws {}
    @OptionGroup var common: CommonOptions
    @Option(transform: { try SeedList(parsing: $0) }) var seeds: SeedList = SeedList([0])
}

@Suite struct CommonOptionsTests {
    @Test func parsesAllFlags() throws {
        let c = try Sample.parse(["--store", "x.db", "--threads", "3", "--json", "--quiet", "--seeds", "1-4"])
        #expect(c.common.storePath == "x.db")
        #expect(c.common.threadCount == 3)
        #expect(c.common.json && c.common.quiet)
        #expect(c.seeds.seeds == [1, 2, 3, 4])
        let d = try Sample.parse([])
        #expect(!d.common.json && !d.common.quiet && d.common.threads == nil && d.seeds.seeds == [0])
    }

    @Test func rejectsBadValues() {
        #expect(throws: (any Error).self) { try Sample.parse(["--threads", "0"]) }
        #expect(throws: (any Error).self) { try Sample.parse(["--threads", "two"]) }
        #expect(throws: (any Error).self) { try Sample.parse(["--seeds", "3-1"]) }
        // The seed parser's own message reaches the user.
        do {
            _ = try Sample.parse(["--seeds", "1,x"])
        } catch {
            #expect(Sample.message(for: error).contains("'x'"))
            #expect(Sample.exitCode(for: error) == .validationFailure)
        }
    }

    /// `--precision`: fp32 by default, bf16 where the CPU has AVX512_BF16, anything else a usage error naming it.
    @Test func precisionOption() throws {
        #expect(try Sample.parse([]).common.precision == "fp32")
        do {
            _ = try Sample.parse(["--precision", "fp16"])
            Issue.record("--precision fp16 was accepted")
        } catch {
            #expect(Sample.message(for: error).contains("--precision 'fp16'"))
            #expect(Sample.exitCode(for: error) == .validationFailure)   // the tools map it to 2
        }
        if ComputePrecision.bf16Available {
            #expect(try CommonOptions.computePrecision(Sample.parse(["--precision", "bf16"]).common.precision) == .bf16)
        } else {
            #expect(throws: (any Error).self) { try Sample.parse(["--precision", "bf16"]) }
        }
    }

    @Test func defaultsFromEnvironment() {
        #expect(CommonOptions.storePath(option: nil, environment: [:]) == "flowsteer.db")
        #expect(CommonOptions.storePath(option: nil, environment: ["FS_STORE": "/s/a.db"]) == "/s/a.db")
        #expect(CommonOptions.storePath(option: "b.db", environment: ["FS_STORE": "/s/a.db"]) == "b.db")
        #expect(CommonOptions.threadCount(option: nil, environment: ["SLURM_CPUS_PER_TASK": "6"]) == 6)
        #expect(CommonOptions.threadCount(option: 2, environment: ["SLURM_CPUS_PER_TASK": "6"]) == 2)
        let cores = CommonOptions.threadCount(option: nil, environment: ["SLURM_CPUS_PER_TASK": "junk"])
        #expect(cores >= 1 && cores == CommonOptions.threadCount(option: nil, environment: [:]))
    }

    @Test func errorsMapToDocumentedExitCodes() {
        struct Other: Error {}
        #expect(ToolOutcome(error: ToolError.badInput("no such artifact")) == ToolOutcome(code: 3, message: "no such artifact"))
        #expect(ToolOutcome(error: ToolError.busy("locked")).code == 4)
        #expect(ToolOutcome(error: ToolError.diverged("loss is NaN at step 12")).code == 5)
        #expect(ToolOutcome(error: ValidationError("bad --steps")) == ToolOutcome(code: 2, message: "bad --steps"))
        #expect(ToolOutcome(error: ExitCode(4)) == ToolOutcome(code: 4, message: ""))
        #expect(ToolOutcome(error: Other()).code == 1)
        let data = ToolOutcome(error: DatasetError(file: "data/mnist/x.gz", problem: "file not found"))
        #expect(data == ToolOutcome(code: 3, message: "data/mnist/x.gz: file not found"))
        #expect(ExitCode.usage.rawValue == 2 && ExitCode.badInput.rawValue == 3 && ExitCode.busy.rawValue == 4
                && ExitCode.diverged.rawValue == 5 && ExitCode.failure.rawValue == 1)
    }

    /// What `runAsTool` does with ArgumentParser's own errors: help on stdout with 0, bad arguments 2.
    @Test func argumentParserErrorsFollowToolConventions() throws {
        func outcome(_ args: [String]) -> (ToolOutcome, toStdout: Bool)? {
            do { var c = try Sample.parseAsRoot(args); try c.run(); return nil } catch { return Sample.toolOutcome(for: error) }
        }
        let help = try #require(outcome(["--help"]))
        #expect(help.0.code == 0 && help.toStdout && help.0.message.contains("--threads <n>"))
        let bad = try #require(outcome(["--bogus"]))
        #expect(bad.0.code == 2 && !bad.toStdout && bad.0.message.hasPrefix("Unknown option '--bogus'"))
        let threads = try #require(outcome(["--threads", "0"]))
        #expect(threads.0.code == 2 && threads.0.message.contains("--threads must be at least 1"))
        #expect(Sample.toolOutcome(for: ToolError.busy("store locked")).0 == ToolOutcome(code: 4, message: "store locked"))
        #expect(Sample.toolOutcome(for: ExitCode(5)).0 == ToolOutcome(code: 5, message: ""))
    }
}

private struct Sampler: ParsableCommand {
    @Option var schedule: ScheduleKind = .fixed
}

@Suite struct ArgumentConformanceTests {
    @Test func scheduleKindParses() throws {
        #expect(try Sampler.parse(["--schedule", "diffusers"]).schedule == .diffusers)
        #expect(try Sampler.parse([]).schedule == .fixed)
        #expect(throws: (any Error).self) { try Sampler.parse(["--schedule", "karras"]) }
        #expect(Sampler.helpMessage().contains("fixed") && Sampler.helpMessage().contains("diffusers"))
    }
}
