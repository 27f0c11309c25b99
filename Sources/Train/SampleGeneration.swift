import TensorCore

/// Sampling stopped at a NaN or infinite velocity or state (exit 5 in the tools): names the model,
/// the seeds of the group, the guidance and the solver, and `NonFiniteSampling`'s step and sigma.
public struct SamplingDiverged: Error, Sendable, CustomStringConvertible {
    public let description: String
}

/// Batched sampling of many seeds, shared by fs-sample, fs-eval and the tests.
///
/// Sample i depends only on its seed, its label, the model and the plan, never on the batch size: its
/// noise is `Tensor.perSampleNoise(seeds: [seed_i], sampleShape: [C, H, W])`, and the network always runs
/// on fixed groups of `groupSize` consecutive samples (group k = samples k*G ..< (k+1)*G; the last group
/// is padded with copies of its last sample, whose outputs are dropped). Fixed groups matter because
/// the kernels are only row-independent for a fixed batch shape: BLAS picks different code paths (and
/// summation orders) for different row counts, and the vectorised SiLU computes an element with SIMD or
/// scalar code depending on where it falls in the tensor. `batchSize` only sets how often progress is
/// reported; `groupSize` (default 32) is part of the result's definition, like the sigma grid.
public enum SampleGeneration {
    /// Samples per network evaluation (enough for 32 threads to split over samples).
    public static let defaultGroupSize = 32

    /// Samples every seed, starting at `plan.sigmas[0]` from `start` (default: the seeded noise).
    /// A plan of one sigma takes no step: the result is the start states. `onBatch(done)` is called
    /// whenever at least `batchSize` more samples are done and at the end, with the number of
    /// finished samples (for progress). `afterGroup(done, total)` runs after every group, where a
    /// tool may stop on a signal by throwing. A NaN or infinite velocity or state stops it with
    /// `SamplingDiverged` naming `modelName`, the seeds, the step and the sigma.
    public static func generate(_ model: VelocityModel, seeds: [UInt64], labels: [Int], plan: SamplingPlan,
                                batchSize: Int, start: SampleStart = .noise, trajectorySamples: Int = 0,
                                groupSize: Int = defaultGroupSize, modelName: String = "the model",
                                afterGroup: ((_ done: Int, _ total: Int) throws -> Void)? = nil,
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
                throw SamplingDiverged(description: "\(modelName): sampling seeds \(SeedRanges.text(Array(seeds[first..<end]))) "
                                       + "(cfg \(plan.guidance), \(plan.method.rawValue)): \(e.description); nothing was written")
            }
            out += x.data[0..<(real * inner)]
            first = end
            try afterGroup?(first, n)
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
}
