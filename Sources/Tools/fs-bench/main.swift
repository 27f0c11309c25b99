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
    @Option(help: "What to time: all, train, forward (these two skip the kernel micro-benchmarks; for profiling) conv (im2col vs tap GEMMs vs Winograd F(2x2) and F(4x4) per UNet conv shape) norm (GroupNorm+SiLU per UNet shape) or latency (forward ms at batch 1, 8, 64, 256; bench/peer_torch.py --latency).")
    var only: String = "all"
    @Option(help: "Matrix products: fp32 or bf16 (bfloat16 operands, fp32 sums; AVX512_BF16).") var precision: String = "fp32"
    @Flag(help: "Print JSON (the only output format; kept for CLI symmetry).") var json = false

    static let choices = ["all", "train", "forward", "conv", "norm", "latency"]

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
        if model == "dit", !["all", "train", "forward"].contains(only) {  // latency, conv, norm: UNet only
            throw ValidationError("--model dit: --only all, train or forward")
        }
        let parts = channels.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.allSatisfy({ $0 != nil && $0! > 0 && $0! % 8 == 0 }) else {
            throw ValidationError("--channels '\(channels)': expected positive multiples of 8 (GroupNorm groups), e.g. 32,64,64")
        }
        try OptionCheck.inValidate {
            try MemoryBudget.check("--batch", value: batch) {
                MemoryEstimates.training(.unet(UNetConfig(channels: parts.map { $0! })), batch: $0)
            }
        }
    }

    func run() throws {
        let t = threads ?? ComputeThreads.defaultCount
        let core = ComputeThreads.preferFastBLASKernels()
        ComputeThreads.set(t)
        ReductionChunks.applyEnvironment()
        WinogradSelection.applyEnvironment()
        ComputePrecision.set(try CommonOptions.computePrecision(precision))
        var out: [String: Any] = ["threads": t, "batch": batch, "blas_core": core, "precision": precision,
                                  "reductions": ReductionChunks.perThread ? "per-thread" : "fixed-chunks",
                                  "winograd": "\(WinogradSelection.mode)"]
        if model == "dit" {
            let config = DiTConfig(inputSize: Reference.side, patchSize: ditPatch, inChannels: Reference.channels, hiddenSize: ditHidden, depth: ditDepth,
                                   numHeads: ditHeads, mlpRatio: 4, numClasses: 10)
            do { try config.validate() } catch { throw ValidationError("--dit-*: \(error)") }
            out["dit_config"] = config.json
            let (train, fwd) = ditThroughput(config)
            if let train { out["dit_train_images_per_second"] = train; out["dit_train_step_ms"] = 1000 * Double(batch) / train }
            if let fwd { out["dit_forward_images_per_second"] = fwd; out["dit_forward_ms"] = 1000 * Double(batch) / fwd }
            out["peak_rss_mb"] = peakResidentMegabytes()
            let data = try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        out["channels"] = channels
        if only == "latency" {
            let c = channels.split(separator: ",").compactMap { Int($0) }
            out["forward_latency_ms"] = forwardLatency(UNetConfig(channels: c))
            let data = try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        if only == "conv" || only == "norm" {
            out[only == "conv" ? "conv_shapes_ms" : "norm_shapes_ms"] = only == "conv" ? convAlgorithmTimings() : normTimings()
            let data = try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        if only == "all" {
            out["sgemm_gflops_1024"] = sgemmGflops(1024)
            let conv = convTimings()
            out["conv2d_forward_ms"] = conv.forward; out["conv2d_backward_ms"] = conv.backward
        }
        let c = channels.split(separator: ",").compactMap { Int($0) }
        let (train, fwd) = unetThroughput(UNetConfig(channels: c))
        if let train { out["unet_train_images_per_second"] = train }
        if let fwd { out["unet_forward_images_per_second"] = fwd }
        out["peak_rss_mb"] = peakResidentMegabytes()
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

    func sgemmGflops(_ n: Int) -> Double {
        let a = [Float](repeating: 1, count: n * n), b = a
        var c = a
        // A single GEMM is split by rows over our threads (BLAS itself runs single-threaded).
        let s = median {
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                let (ab, bb, cb) = (UnsafeSendable(ap.baseAddress!), UnsafeSendable(bp.baseAddress!), UnsafeSendable(cp.baseAddress!))
                parallelChunks(n) { _, r in
                    gemm(m: r.count, n: n, k: n, a: ab.value + r.lowerBound * n, b: bb.value, c: cb.value + r.lowerBound * n)
                }
            }}}
        }
        return 2 * Double(n * n * n) / s / 1e9
    }

    func convTimings() -> (forward: Double, backward: Double) {
        var g = SplitMix64(seed: 1)
        let x = Tensor(shape: [batch, 32, Reference.side, Reference.side], data: g.normals(batch * 32 * Reference.side * Reference.side))
        let w = Tensor(shape: [32, 32, 3, 3], data: g.normals(32 * 288)), b = Tensor(zeros: [32])
        let y = conv2dForward(x, w, b, stride: 1, pad: 1)
        let f = median { _ = conv2dForward(x, w, b, stride: 1, pad: 1) }
        let bw = median { _ = conv2dBackward(x, w, y, stride: 1, pad: 1, needInput: true, needWeight: true, needBias: true) }
        return (f * 1000, bw * 1000)
    }

    /// Forward and backward (dX, dW, db) milliseconds of the 3x3 stride-1 convs of the reference UNet,
    /// im2col vs tap GEMMs vs Winograd F(2x2,3x3) and F(4x4,3x3) (`ConvGeometry.prefersTaps` and
    /// `preferredWinograd` are tuned from these).
    func convAlgorithmTimings() -> [String: [String: Double]] {
        let shapes = [(28, 1, 32), (28, 32, 1), (28, 32, 32), (28, 96, 32), (14, 32, 64), (14, 64, 64), (14, 128, 64), (7, 64, 64), (7, 128, 64)]
        var g = SplitMix64(seed: 3)
        var res: [String: [String: Double]] = [:]
        for (s, cin, cout) in shapes {
            let x = Tensor(shape: [batch, cin, s, s], data: g.normals(batch * cin * s * s))
            let w = Tensor(shape: [cout, cin, 3, 3], data: g.normals(cout * cin * 9)), b = Tensor(zeros: [cout])
            let y = conv2dForward(x, w, b, stride: 1, pad: 1)
            var r: [String: Double] = [:]
            for (name, a) in [("im2col", ConvAlgorithm.im2col), ("taps", .taps), ("winograd2", .winograd2), ("winograd4", .winograd4)] {
                r["\(name)_forward"] = 1000 * median { _ = conv2dForward(x, w, b, stride: 1, pad: 1, algorithm: a) }
                r["\(name)_backward"] = 1000 * median {
                    _ = conv2dBackward(x, w, y, stride: 1, pad: 1, needInput: true, needWeight: true, needBias: true, algorithm: a)
                }
            }
            res["\(s)x\(s) \(cin)->\(cout)"] = r
        }
        return res
    }

    /// Forward and backward milliseconds of SiLU(GroupNorm(x)) (8 groups) for the UNet's norm shapes, and the
    /// backward's nanoseconds per element.
    func normTimings() -> [String: [String: Double]] {
        let shapes = [(28, 32), (28, 96), (14, 32), (14, 64), (14, 128), (7, 64), (7, 128)]
        var g = SplitMix64(seed: 4)
        var res: [String: [String: Double]] = [:]
        for (s, c) in shapes {
            let x = Tensor(shape: [batch, c, s, s], data: g.normals(batch * c * s * s))
            let dy = Tensor(shape: x.shape, data: g.normals(x.count))
            let w = Tensor(shape: [c], data: g.normals(c)), b = Tensor(shape: [c], data: g.normals(c))
            let (_, saved) = groupNormForward(x, groups: 8, weight: w, bias: b, eps: 1e-5, silu: true)
            let f = median { _ = groupNormForward(x, groups: 8, weight: w, bias: b, eps: 1e-5, silu: true) }
            let bw = median { _ = groupNormBackward(x, dy, groups: 8, weight: w, bias: b, silu: true, saved: saved) }
            res["\(s)x\(s) \(c)"] = ["forward": f * 1000, "backward": bw * 1000, "backward_ns_per_element": bw * 1e9 / Double(x.count)]
        }
        return res
    }

    /// Milliseconds of one UNet forward (VelocityModel.evaluate) at batch 1, 8, 64 and 256 (median of --iterations).
    func forwardLatency(_ config: UNetConfig) -> [String: Double] {
        let unet = UNet(config)
        var weights = unet.initialParameters(seed: 0)
        weights["conv_out.weight"] = Tensor(repeating: 0.01, shape: weights["conv_out.weight"]!.shape)
        let model = try! VelocityModel(config: .unet(config), weights: weights)
        var g = SplitMix64(seed: 5)
        var res: [String: Double] = [:]
        for b in [1, 8, 64, 256] {
            let x = Tensor(shape: [b, Reference.channels, Reference.side, Reference.side], data: g.normals(b * Reference.floats))
            let sigmas = (0..<b).map { _ in g.uniform() }, labels = (0..<b).map { $0 % 11 }
            res["\(b)"] = 1000 * median { _ = model.evaluate(x, sigmas: sigmas, labels: labels) }
        }
        return res
    }

    func unetThroughput(_ config: UNetConfig) -> (train: Double?, forward: Double?) {
        let unet = UNet(config)
        var weights = unet.initialParameters(seed: 0)
        // Non-zero output layer so the backward pass is representative.
        weights["conv_out.weight"] = Tensor(repeating: 0.01, shape: weights["conv_out.weight"]!.shape)
        var opt = AdamW()
        var g = SplitMix64(seed: 2)
        let x0 = Tensor(shape: [batch, Reference.channels, Reference.side, Reference.side], data: g.normals(batch * Reference.floats))
        let noise = Tensor(shape: [batch, Reference.channels, Reference.side, Reference.side], data: g.normals(batch * Reference.floats))
        let sigmas = (0..<batch).map { _ in g.uniform() }, labels = (0..<batch).map { $0 % 11 }
        var train: Double? = nil, fwd: Double? = nil
        if only != "forward" {
            let s = median {
                _ = trainStep(unet, weights: &weights, optimizer: &opt, lr: 1e-4, clip: 1, x0: x0, noise: noise,
                              sigmas: sigmas, labels: labels)
            }
            train = Double(batch) / s
        }
        if only != "train" {
            let model = try! VelocityModel(config: .unet(config), weights: weights)
            fwd = Double(batch) / median { _ = model.evaluate(x0, sigmas: sigmas, labels: labels) }
        }
        return (train, fwd)
    }
}

extension FSBench {
    /// Training step (forward, MSE to the velocity target, backward, clip, AdamW; pos_embed frozen) and
    /// forward images/s of a DiT, as bench/peer_torch.py --model dit measures the reference.
    func ditThroughput(_ config: DiTConfig) -> (train: Double?, forward: Double?) {
        let dit = DiT(config)
        var weights = dit.initialParameters(seed: 0)
        // Non-zero adaLN and output layers so every path of the backward is representative.
        var r = SplitMix64(seed: 5)
        weights = weights.mapTensors { k, t in
            k.contains("adaLN_modulation") || k.hasPrefix("final_layer") ? Tensor(shape: t.shape, data: r.normals(t.count).map { $0 * 0.02 }) : t
        }
        var opt = AdamW(weightDecay: 0.01)
        var g = SplitMix64(seed: 2)
        let shape = [batch, Reference.channels, Reference.side, Reference.side], n = batch * Reference.floats
        let x0 = Tensor(shape: shape, data: g.normals(n)), noise = Tensor(shape: shape, data: g.normals(n))
        let sigmas = (0..<batch).map { _ in g.uniform() }, labels = (0..<batch).map { $0 % 11 }
        var train: Double? = nil, fwd: Double? = nil
        if only != "forward" {
            let s = median {
                let tape = Tape()
                let p = tape.bind(weights)
                let xt = FlowMatching.interpolate(x0: x0, noise: noise, sigmas: sigmas)
                let v = dit(tape.constant(xt), sigmas: sigmas, labels: labels, p)
                let loss = meanSquaredError(v, target: FlowMatching.velocityTarget(x0: x0, noise: noise))
                var grads = p.gradients(tape.backward(loss))
                for k in DiT.frozenKeys { grads[k] = nil }
                clipGradientNorm(&grads, maxNorm: 1)
                opt.update(&weights, grads: grads, lr: 1e-4)
            }
            train = Double(batch) / s
        }
        if only != "train" {
            let xt = FlowMatching.interpolate(x0: x0, noise: noise, sigmas: sigmas)
            fwd = Double(batch) / median { _ = dit.forward(xt, sigmas: sigmas, labels: labels, weights: weights) }
        }
        return (train, fwd)
    }
}

FSBench.runAsTool()

/// The reference workloads' image (issue 2's UNet benchmark and issue 21's DiT one are defined on MNIST-sized gray
/// images, so their ratios against PyTorch stay comparable across sessions); every timed tensor derives from it.
/// Static members, not top-level lets: main.swift's globals are set in order, after the command has run.
enum Reference {
    static let side = 28, channels = 1
    static let floats = channels * side * side
}
