import ArgumentParser
import Foundation
import NN
import TensorCore
import ToolSupport
import Train

/// Prints one JSON object of throughput numbers for the numeric core (issue 2's reference workload).
struct FSBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fs-bench",
        abstract: "Benchmark the tensor core: sgemm, conv2d, and UNet training/forward throughput.",
        discussion: """
        Prints one JSON object (peak_rss_mb: the process's peak resident memory). Compare with bench/peer_torch.py
        run with the same thread count. `--model dit` times the DiT reference workload instead (28x28x1, patch 2,
        hidden 192, depth 6, heads 3, mlp ratio 4, batch 64): dit_train_images_per_second, dit_forward_images_per_second
        (bench/dit.sh runs it side by side with bench/peer_torch.py --model dit).
        Example:
          fs-bench --threads 2 --json
          fs-bench --model dit --threads 2 --json
        """)

    @Option(help: "Threads (default: SLURM_CPUS_PER_TASK, else all cores).") var threads: Int?
    @Option(help: "UNet channels per level.") var channels: String = "32,64,64"
    @Option(help: "Model to time: unet or dit.") var model: String = "unet"
    @Option(name: .customLong("batch"), help: "Batch size (default 128 for the UNet, 64 for the DiT).") var batchSize: Int?
    var batch: Int { batchSize ?? (model == "dit" ? 64 : 128) }
    @Option(help: "DiT hidden size (the defaults are the reference workload).") var ditHidden: Int = 192
    @Option(help: "DiT depth.") var ditDepth: Int = 6
    @Option(help: "DiT heads.") var ditHeads: Int = 3
    @Option(help: "DiT patch size.") var ditPatch: Int = 2
    @Option(help: "Timed iterations per measurement (median reported).") var iterations: Int = 5
    @Option(help: "What to time: all, train, forward (these two skip the kernel micro-benchmarks; for profiling) conv (im2col vs tap GEMMs vs Winograd F(2x2) and F(4x4) per UNet conv shape) norm (GroupNorm+SiLU per UNet shape) latency (forward ms at batch 1, 8, 64, 256; bench/peer_torch.py --latency) gemm (one thread's GFLOP/s on the DiT reference's products, CGEMM beside OpenBLAS) or peak (one core's measured FMA peak, GFLOP/s, per instruction set: the roofline's ceiling).")
    var only: String = "all"
    @Option(help: "Matrix products: fp32 or bf16 (bfloat16 operands, fp32 sums; AVX512_BF16).") var precision: String = "fp32"
    @Flag(help: "Print JSON (the only output format; kept for CLI symmetry).") var json = false

    static let choices = ["all", "train", "forward", "conv", "norm", "latency", "gemm", "peak"]

    /// Usage errors (exit 2) before any timing: a bench of zero iterations or zero channels would divide
    /// by zero or build no network.
    func validate() throws {
        try OptionCheck.int("--threads", threads, 1...4096)
        try OptionCheck.int("--batch", batch, 1...1_000_000)
        try OptionCheck.int("--iterations", iterations, 1...10_000)
        _ = try CommonOptions.computePrecision(precision)
        guard Self.choices.contains(only) else {
            throw ValidationError("--only '\(only)' is not one of \(Self.choices.joined(separator: ", "))")
        }
        guard ["unet", "dit"].contains(model) else { throw ValidationError("--model '\(model)' is not one of unet, dit") }
        if model == "dit", !["all", "train", "forward", "gemm", "peak"].contains(only) {  // latency, conv, norm: the UNet reference's
            throw ValidationError("--model dit: --only all, train, forward, gemm or peak")
        }
        let parts = channels.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.allSatisfy({ $0 != nil && $0! > 0 && $0! % 8 == 0 }) else {
            throw ValidationError("--channels '\(channels)': expected positive multiples of 8 (GroupNorm groups), e.g. 32,64,64")
        }
        try OptionCheck.inValidate {
            try MemoryBudget.check("--batch", value: batch) {
                MemoryEstimates.training(.unet(UNetConfig(channels: parts.map { $0! })), batch: $0, imageSize: Reference.side)
            }
        }
    }

    func run() throws {
        let t = threads ?? ComputeThreads.defaultCount
        let core = ComputeThreads.preferFastBLASKernels()
        ComputeThreads.set(t)
        ReductionChunks.applyEnvironment()
        WinogradSelection.applyEnvironment()
        VectorConvKernels.applyEnvironment()
        ComputePrecision.set(try CommonOptions.computePrecision(precision))
        var out: [String: Any] = ["threads": t, "batch": batch, "blas_core": core, "precision": precision,
                                  "reductions": ReductionChunks.perThread ? "per-thread" : "fixed-chunks",
                                  "winograd": "\(WinogradSelection.mode)",
                                  "winograd_products": VectorConvKernels.winogradGemmAVX2 ? "avx2" : "openblas"]
        if only == "peak" {   // one core: the FMA units' ceiling for the GEMM kernels' GFLOP/s
            out["fma_peak_gflops_one_thread"] = FMAPeak.measure()
            try printJSON(out)
            return
        }
        if only == "gemm" {
            out["cgemm_kernels"] = !FastGEMM.available ? "none" : FastGEMM.avx512 ? "avx512f" : "avx2+fma"
            out["dit_gemm_gflops_one_thread"] = ditGemmGflops()
            try printJSON(out)
            return
        }
        if model == "dit" {
            let config = DiTConfig(inputSize: Reference.side, patchSize: ditPatch, inChannels: Reference.channels, hiddenSize: ditHidden, depth: ditDepth,
                                   numHeads: ditHeads, mlpRatio: 4, numClasses: 10)
            do { try config.validate() } catch { throw ValidationError("--dit-*: \(error)") }
            out["dit_config"] = config.json
            let (train, fwd) = throughput(.dit(config), weightDecay: 0.01, grouped: false)   // peer_torch.py's DiT: AdamW wd 0.01
            if let train { out["dit_train_images_per_second"] = train; out["dit_train_step_ms"] = 1000 * Double(batch) / train }
            if let fwd { out["dit_forward_images_per_second"] = fwd; out["dit_forward_ms"] = 1000 * Double(batch) / fwd }
            out["peak_rss_mb"] = peakResidentMegabytes()
            try printJSON(out)
            return
        }
        out["channels"] = channels
        if only == "latency" {
            let c = channels.split(separator: ",").compactMap { Int($0) }
            out["forward_latency_ms"] = forwardLatency(.unet(UNetConfig(channels: c)))
            try printJSON(out)
            return
        }
        if only == "conv" || only == "norm" {
            out[only == "conv" ? "conv_shapes_ms" : "norm_shapes_ms"] = only == "conv" ? convAlgorithmTimings() : normTimings()
            try printJSON(out)
            return
        }
        if only == "all" {
            out["sgemm_gflops_1024"] = sgemmGflops(1024)
            let conv = convTimings()
            out["conv2d_forward_ms"] = conv.forward; out["conv2d_backward_ms"] = conv.backward
        }
        let c = channels.split(separator: ",").compactMap { Int($0) }
        let (train, fwd) = throughput(.unet(UNetConfig(channels: c)), weightDecay: 0, grouped: true)
        if let train { out["unet_train_images_per_second"] = train }
        if let fwd { out["unet_forward_images_per_second"] = fwd }
        out["peak_rss_mb"] = peakResidentMegabytes()
        try printJSON(out)
    }

    /// Prints `out` as one JSON object, keys sorted (every measurement's output).
    func printJSON(_ out: [String: Any]) throws {
        let data = try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    /// The process's peak resident set so far (getrusage; Linux reports KiB). With `--only train` it is the
    /// peak of the training steps (issue 2's memory bound), with everything else it covers all measurements.
    func peakResidentMegabytes() -> Double {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return (Double(u.ru_maxrss) / 1024 * 10).rounded() / 10
    }

    func median(_ f: () -> Void) -> Double {
        f()   // warm-up
        var ts: [Double] = []
        for _ in 0..<iterations {
            let t0 = DispatchTime.now().uptimeNanoseconds
            f()
            ts.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return ts.sorted()[ts.count / 2]
    }
}

FSBench.runAsTool()
