import NN
import TensorCore

/// What `SampleGeneration.generate` returns, in sample order, and the files it is written to.
public struct GeneratedSamples: Sendable {
    public var seeds: [UInt64]
    public var labels: [Int]
    /// The seeded noise eps [N, C, H, W] (`Tensor.perSampleNoise` of each seed), also when the run
    /// started from given or interpolated states.
    public var noise: Tensor
    /// The final states [N, C, H, W] at the plan's last sigma (clean samples when it is 0), model
    /// space, not clamped.
    public var samples: Tensor
    /// Every state of the first `trajectorySamples` samples: element t is [k, C, H, W] (t = 0 is the
    /// start state, t = steps the result); empty when none were asked for.
    public var trajectory: [Tensor]

    public init(seeds: [UInt64], labels: [Int], noise: Tensor, samples: Tensor, trajectory: [Tensor]) {
        (self.seeds, self.labels, self.noise, self.samples, self.trajectory) = (seeds, labels, noise, samples, trajectory)
    }

    /// The `--save-tensors` file: `noise` F32 [N,C,H,W], `labels` I64 [N], `samples` F32 [N,C,H,W]
    /// (model space, before clamping), and `__metadata__` {"format": "pt", "sigmas": JSON list,
    /// "cfg": JSON number, "method", "seeds", "labels_dtype": "I64", plus `extra`}.
    /// `tools/golden/check_export.py --samples` re-samples it with the PyTorch reference.
    public func tensorsFile(plan: SamplingPlan, extra: [(key: String, value: String)] = []) -> SafetensorsFile {
        var meta: [(key: String, value: String)] = [
            ("format", "pt"), ("sigmas", SampleGeneration.jsonList(plan.sigmas)), ("cfg", plan.guidance.description),
            ("method", plan.method.rawValue), ("seeds", SeedRanges.text(seeds)), ("labels_dtype", "I64"),
        ]
        meta += extra
        return SafetensorsFile(entries: [
            SafetensorsEntry(name: "noise", tensor: noise),
            Self.int64Entry("labels", labels.map(Int64.init)),
            SafetensorsEntry(name: "samples", tensor: samples),
        ], metadata: meta)
    }

    /// The tensors of a `sample_set` artifact: `samples` F32 [N,C,H,W] (model space, not clamped),
    /// `labels` I64 [N], `seeds` U64 [N] (the same dtypes as a trajectory bank's columns).
    public var sampleSetEntries: [SafetensorsEntry] {
        [
            SafetensorsEntry(name: "samples", tensor: samples),
            Self.int64Entry("labels", labels.map(Int64.init)),
            SafetensorsEntry(name: "seeds", dtype: .U64, shape: [seeds.count],
                             bytes: seeds.map { $0.littleEndian }.withUnsafeBytes { [UInt8]($0) }),
        ]
    }

    /// A little-endian I64 vector entry (labels are I64 in PyTorch's files).
    public static func int64Entry(_ name: String, _ values: [Int64]) -> SafetensorsEntry {
        SafetensorsEntry(name: name, dtype: .I64, shape: [values.count],
                         bytes: values.map { $0.littleEndian }.withUnsafeBytes { [UInt8]($0) })
    }
}
