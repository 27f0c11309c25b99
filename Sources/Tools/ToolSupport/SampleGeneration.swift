import ArgumentParser
import Foundation
import ImageIO
import NN
import Store
import TensorCore
import Train

// `--method euler|heun` for every tool that samples.
extension Sampler.Method: ExpressibleByArgument {}

/// Which class label each sample gets: `cycle` (sample i gets i mod 10, so a grid has one row per
/// class) or an explicit comma list that is repeated to the sample count (`3` = all threes, `1,7`
/// alternates). Labels are 0...9, or 10 (the null label) for unconditional samples.
public enum LabelSpec: Sendable, Equatable, CustomStringConvertible, ExpressibleByArgument {
    case cycle
    case list([Int])

    public init(parsing text: String, numClasses: Int = 10) throws {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t == "cycle" { self = .cycle; return }
        var out: [Int] = []
        for part in t.split(separator: ",", omittingEmptySubsequences: false) {
            let p = part.trimmingCharacters(in: .whitespaces)
            guard let v = Int(p), v >= 0, v <= numClasses else {
                throw ValidationError("--labels '\(text)': '\(p)' is not a label 0...\(numClasses) (\(numClasses) = unconditional); "
                                      + "use a comma list such as 3 or 1,7, or 'cycle'")
            }
            out.append(v)
        }
        self = .list(out)
    }

    public init?(argument: String) { try? self.init(parsing: argument) }

    /// The label of each of `count` samples.
    public func labels(count: Int, numClasses: Int = 10) -> [Int] {
        switch self {
        case .cycle: return (0..<count).map { numClasses > 0 ? $0 % numClasses : 0 }  // 0 classes: the null label
        case .list(let l): return (0..<count).map { l[$0 % l.count] }
        }
    }

    public var description: String {
        switch self {
        case .cycle: return "cycle"
        case .list(let l): return l.map(String.init).joined(separator: ",")
        }
    }
}

/// How to integrate: the sigma grid, one guidance weight for every sample, and the solver.
public struct SamplingPlan: Sendable, Equatable {
    public var sigmas: [Float]
    public var guidance: Float
    public var method: Sampler.Method

    public init(sigmas: [Float], guidance: Float, method: Sampler.Method = .euler) {
        (self.sigmas, self.guidance, self.method) = (sigmas, guidance, method)
    }

    public var steps: Int { sigmas.count - 1 }

    /// UNet evaluations per sample: one per Euler step, two per Heun step except the last step to 0,
    /// all doubled when guidance is on (w != 1 adds the null-label pass).
    public var evaluationsPerSample: Int {
        var n = steps
        if method == .heun { n += (1..<sigmas.count).filter { sigmas[$0] > 0 }.count }
        return guidance == 1 ? n : 2 * n
    }
}

/// What `SampleGeneration.generate` returns, in sample order.
public struct GeneratedSamples: Sendable {
    public var seeds: [UInt64]
    public var labels: [Int]
    /// The seeded noise eps [N, C, 28, 28] (`Tensor.perSampleNoise` of each seed), also when the run
    /// started from given or interpolated states.
    public var noise: Tensor
    /// The final states [N, C, 28, 28] at the plan's last sigma (clean samples when it is 0), model
    /// space, not clamped.
    public var samples: Tensor
    /// Every state of the first `trajectorySamples` samples: element t is [k, C, 28, 28] (t = 0 is the
    /// start state, t = steps the result); empty when none were asked for.
    public var trajectory: [Tensor]
}

/// Batched sampling of many seeds, shared by fs-sample and the tests.
///
/// Sample i depends only on its seed, its label, the model and the plan, never on the batch size: its
/// noise is `Tensor.perSampleNoise(seeds: [seed_i], sampleShape: [C, H, W])`, and the UNet always runs
/// on fixed groups of `groupSize` consecutive samples (group k = samples k*G ..< (k+1)*G; the last group
/// is padded with copies of its last sample, whose outputs are dropped). Fixed groups matter because
/// the kernels are only row-independent for a fixed batch shape: BLAS picks different code paths (and
/// summation orders) for different row counts, and the vectorised SiLU computes an element with SIMD or
/// scalar code depending on where it falls in the tensor. `batchSize` only sets how often progress is
/// reported; `groupSize` (default 32) is part of the result's definition, like the sigma grid.
public enum SampleGeneration {
    /// Samples per UNet evaluation (enough for 32 threads to split over samples).
    public static let defaultGroupSize = 32

    /// Samples every seed, starting at `plan.sigmas[0]` from `start` (default: the seeded noise).
    /// A plan of one sigma takes no step: the result is the start states. `onBatch(done)` is called
    /// whenever at least `batchSize` more samples are done and at the end, with the number of
    /// finished samples (for progress). A NaN or infinite velocity or state stops it with a
    /// `ToolError` of exit code 5 (diverged) naming `modelName`, the seeds, the step and the sigma.
    public static func generate(_ model: VelocityModel, seeds: [UInt64], labels: [Int], plan: SamplingPlan,
                                batchSize: Int, start: SampleStart = .noise, trajectorySamples: Int = 0,
                                groupSize: Int = defaultGroupSize, modelName: String = "the model",
                                onBatch: ((Int) -> Void)? = nil) throws -> GeneratedSamples {
        precondition(seeds.count == labels.count, "generate: \(seeds.count) seeds for \(labels.count) labels")
        precondition(batchSize >= 1 && groupSize >= 1, "generate: batch and group sizes must be at least 1")
        precondition(!plan.sigmas.isEmpty, "generate: a plan needs a start sigma")
        let n = seeds.count
        let sampleShape = model.sampleShape, inner = sampleShape.reduce(1, *)
        var noise = [Float](), out = [Float]()
        noise.reserveCapacity(n * inner)
        out.reserveCapacity(n * inner)
        let k = min(trajectorySamples, n)
        var states = [[Float]](repeating: [], count: k > 0 ? plan.sigmas.count : 0)
        var first = 0, reported = 0
        while first < n {
            let end = min(n, first + groupSize)
            let real = end - first
            // Pad the group to its fixed size with copies of its last sample.
            let groupSeeds = Array(seeds[first..<end]) + Array(repeating: seeds[end - 1], count: groupSize - real)
            let groupLabels = Array(labels[first..<end]) + Array(repeating: labels[end - 1], count: groupSize - real)
            let eps = Tensor.perSampleNoise(seeds: groupSeeds, sampleShape: sampleShape)
            noise += eps.data[0..<(real * inner)]
            let keep = max(0, min(k, end) - first)
            let x: Tensor
            do {
                x = try Sampler.sampleChecked(model, noise: start.initialStates(noise: eps, rows: first..<end),
                                              labels: groupLabels, guidance: [Float](repeating: plan.guidance, count: groupSize),
                                              sigmas: plan.sigmas, method: plan.method,
                                              onState: keep == 0 ? nil : { t, state in
                                                  states[t] += state.data[0..<(keep * inner)]
                                              })
            } catch let e as NonFiniteSampling {
                throw ToolError.diverged("\(modelName): sampling seeds \(SeedList(Array(seeds[first..<end]))) (cfg \(plan.guidance), "
                                         + "\(plan.method.rawValue)): \(e.description); nothing was written")
            }
            out += x.data[0..<(real * inner)]
            first = end
            try Interruption.check("\(first) of \(n) samples were done; nothing was written")
            if first - reported >= batchSize || first == n {
                reported = first
                onBatch?(first)
            }
        }
        return GeneratedSamples(seeds: seeds, labels: labels, noise: Tensor(shape: [n] + sampleShape, data: noise),
                                samples: Tensor(shape: [n] + sampleShape, data: out),
                                trajectory: states.map { Tensor(shape: [k] + sampleShape, data: $0) })
    }

    /// Class-balanced labels: sample i gets class i mod `classes` (the null label 0 of an
    /// unconditional model, which has no classes).
    public static func balancedLabels(count: Int, classes: Int) -> [Int] {
        (0..<count).map { classes > 0 ? $0 % classes : 0 }
    }

    /// The sigma grid to sample with. An explicit list (`sigmas`, comma-separated) wins; otherwise, when
    /// nothing is given and the model records its own grid (a student's `segments`), that grid; otherwise
    /// the `kind` grid (default: the model's schedule, else `fixed`) with `steps` steps (default: the
    /// model's segment count, else 32) and `shift` (default: the model's, else 3).
    public static func schedule(for model: LoadedModel?, steps: Int?, kind: ScheduleKind?, shift: Float?,
                                sigmas: String?) throws -> SigmaSchedule {
        if let steps, !(1...100_000).contains(steps) { throw ToolError.usage("--steps must be 1...100000, got \(steps)") }
        if let shift, !(shift > 0 && shift.isFinite) { throw ToolError.usage("--shift must be a positive number, got \(shift)") }
        let s = shift ?? model?.shift ?? 3
        if let sigmas { return try SigmaSchedule(parsing: sigmas, shift: s) }
        if steps == nil, kind == nil, shift == nil, let own = model?.segmentSigmas {
            return try SigmaSchedule(explicit: own, shift: s)
        }
        return SigmaSchedule.make(kind ?? model?.schedule ?? .fixed, steps: steps ?? model?.segmentCount ?? 32, shift: s)
    }

    /// A JSON list of sigmas as Python reads it back exactly ("[1.0, 0.857692, 0.0]").
    public static func jsonList(_ values: [Float]) -> String {
        "[" + values.map(\.description).joined(separator: ", ") + "]"
    }

    /// The `--save-tensors` file: `noise` F32 [N,C,28,28], `labels` I64 [N], `samples` F32 [N,C,28,28]
    /// (model space, before clamping), and `__metadata__` {"format": "pt", "sigmas": JSON list,
    /// "cfg": JSON number, "method", "seeds", "labels_dtype": "I64", plus `extra`}.
    /// `tools/golden/check_export.py --samples` re-samples it with the PyTorch reference.
    public static func tensorsFile(_ g: GeneratedSamples, plan: SamplingPlan,
                                   extra: [(key: String, value: String)] = []) -> SafetensorsFile {
        var meta: [(key: String, value: String)] = [
            ("format", "pt"), ("sigmas", jsonList(plan.sigmas)), ("cfg", plan.guidance.description),
            ("method", plan.method.rawValue), ("seeds", SeedList(g.seeds).description), ("labels_dtype", "I64"),
        ]
        meta += extra
        return SafetensorsFile(entries: [
            SafetensorsEntry(name: "noise", tensor: g.noise),
            int64Entry("labels", g.labels.map(Int64.init)),
            SafetensorsEntry(name: "samples", tensor: g.samples),
        ], metadata: meta)
    }

    /// The tensors of a `sample_set` artifact: `samples` F32 [N,C,28,28] (model space, not clamped),
    /// `labels` I64 [N], `seeds` U64 [N] (the same dtypes as a trajectory bank's columns).
    public static func sampleSetBlobs(_ g: GeneratedSamples) -> [NamedBlob] {
        [
            NamedBlob(name: "samples", tensor: g.samples),
            int64Entry("labels", g.labels.map(Int64.init)),
            NamedBlob(name: "seeds", dtype: .U64, shape: [g.seeds.count],
                      bytes: g.seeds.map { $0.littleEndian }.withUnsafeBytes { [UInt8]($0) }),
        ]
    }

    static func int64Entry(_ name: String, _ values: [Int64]) -> SafetensorsEntry {
        SafetensorsEntry(name: name, dtype: .I64, shape: [values.count],
                         bytes: values.map { $0.littleEndian }.withUnsafeBytes { [UInt8]($0) })
    }

    /// The PNG grid of the first `limit` samples. With `byClass`, row r holds the samples of the r-th
    /// smallest label in sample order (so cycling labels give one row per class, one column per seed
    /// group); missing cells stay black. Otherwise the samples fill a near-square grid row by row.
    public static func grid(_ samples: Tensor, labels: [Int], byClass: Bool, limit: Int, scale: Int = 1) -> PixelImage {
        let n = min(limit, samples.shape[0])
        precondition(n >= 1, "grid: no samples")
        let inner = samples.count / samples.shape[0]
        let cellShape = Array(samples.shape.dropFirst())
        var image: PixelImage
        if byClass {
            let classes = Array(Set(labels[0..<n])).sorted()
            let rows = classes.map { c in (0..<n).filter { labels[$0] == c } }
            let cols = rows.map(\.count).max()!
            var data = [Float](repeating: -1, count: classes.count * cols * inner)
            for (r, members) in rows.enumerated() {
                for (c, i) in members.enumerated() {
                    let dst = (r * cols + c) * inner
                    data.replaceSubrange(dst..<(dst + inner), with: samples.data[(i * inner)..<((i + 1) * inner)])
                }
            }
            image = imageGrid(Tensor(shape: [classes.count * cols] + cellShape, data: data), columns: cols)
        } else {
            let cols = Int(Double(n).squareRoot().rounded(.up))
            image = imageGrid(Tensor(shape: [n] + cellShape, data: Array(samples.data[0..<(n * inner)])), columns: cols)
        }
        return image.upscaled(by: scale)
    }
}
