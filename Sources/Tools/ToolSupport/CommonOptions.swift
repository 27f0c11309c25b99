import ArgumentParser
import Foundation
import TensorCore

/// The options every tool shares (docs/design.md): `--store`, `--threads`, `--precision`, `--json`, `--quiet`.
/// Include with `@OptionGroup var common: CommonOptions` and call `common.applyThreads()` first.
public struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Artifact store file (default: $FS_STORE, else ./flowsteer.db).",
                                            valueName: "path"))
    public var store: String?

    @Option(name: .long, help: ArgumentHelp("Compute threads (default: $SLURM_CPUS_PER_TASK, else all cores).",
                                            valueName: "n"))
    public var threads: Int?

    @Option(name: .long, help: ArgumentHelp("Matrix products: fp32 (default, bit-reproducible) or bf16 (bfloat16 operands, fp32 sums; needs AVX512_BF16).",
                                            valueName: "p"))
    public var precision: String = "fp32"

    @Flag(name: .long, help: "Print one JSON object on stdout (and nothing else there).")
    public var json = false

    @Flag(name: .long, help: "No progress output on stderr (errors are still printed).")
    public var quiet = false

    public init() {}

    public func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        _ = try Self.computePrecision(precision)
    }

    /// The `--precision` value, checked against this CPU (usage error, exit 2, when it cannot run here).
    public static func computePrecision(_ value: String) throws -> ComputePrecision {
        guard let p = ComputePrecision(rawValue: value) else {
            throw ValidationError("--precision '\(value)' is not one of fp32, bf16")
        }
        if let reason = ComputePrecision.unsupportedReason(p) { throw ValidationError("--precision \(value): \(reason)") }
        return p
    }

    /// The store path: `--store`, else `$FS_STORE`, else `flowsteer.db` in the current directory.
    public var storePath: String { Self.storePath(option: store, environment: ProcessInfo.processInfo.environment) }

    public static func storePath(option: String?, environment: [String: String]) -> String {
        if let option, !option.isEmpty { return option }
        if let env = environment["FS_STORE"], !env.isEmpty { return env }
        return "flowsteer.db"
    }

    /// The thread count: `--threads`, else `$SLURM_CPUS_PER_TASK`, else all online cores.
    public var threadCount: Int { Self.threadCount(option: threads, environment: ProcessInfo.processInfo.environment) }

    public static func threadCount(option: Int?, environment: [String: String]) -> Int {
        if let option { return max(1, option) }
        if let s = environment["SLURM_CPUS_PER_TASK"], let n = Int(s.trimmingCharacters(in: .whitespaces)), n > 0 {
            return n
        }
        return ProcessInfo.processInfo.activeProcessorCount
    }

    /// Sets `ComputeThreads` (which also pins BLAS to one thread) from `threadCount`, after picking
    /// OpenBLAS's faster kernel set (`ComputeThreads.preferFastBLASKernels`; tools call this first).
    /// Also reads `FS_PER_THREAD_REDUCTIONS` (`ReductionChunks.applyEnvironment`) and `FS_CONV_WINOGRAD`
    /// (`WinogradSelection.applyEnvironment`), `FS_CONV_AVX512`, `FS_CONV_AVX2` and `FS_CONV_AVX2_GEMM` (`VectorConvKernels.applyEnvironment`), and sets
    /// `ComputePrecision` from `--precision`.
    /// Also installs the graceful SIGINT/SIGTERM/SIGHUP handlers (`Interruption`).
    public func applyThreads() {
        Interruption.install()
        ComputeThreads.preferFastBLASKernels()
        ComputeThreads.set(threadCount)
        ReductionChunks.applyEnvironment()
        WinogradSelection.applyEnvironment()
        VectorConvKernels.applyEnvironment()
        ComputePrecision.set((try? Self.computePrecision(precision)) ?? .fp32)   // validated at parse time
    }

    /// An informational line on stderr, unless `--quiet`.
    public func log(_ line: String) {
        if !quiet && !DataParallelTool.isFollower { StandardError.line(line) }
    }

    /// The command's result on stdout: the object as one JSON line with `--json`, else `human` text.
    public func emit(_ object: [String: Any], human: @autoclosure () -> String) throws {
        guard !DataParallelTool.isFollower else { return }   // one result per MPI job: rank 0's
        if json { try JSONOutput.print(object) } else { print(human()) }
    }

    /// A progress reporter honouring `--quiet` and whether stderr is a terminal.
    public func progress(_ label: String, total: Int?, unit: String = "it", completed: Int = 0) -> Progress {
        Progress(label: label, total: total, unit: unit, completed: completed, mode: .automatic(quiet: quiet || DataParallelTool.isFollower))
    }
}
