import NN
import TensorCore

/// One teacher trajectory as `TeacherRollout` returns it: the sample's seed, label and guidance
/// scale, and its K+1 states at the student-grid boundaries, flattened (`states[k * stateSize ..<
/// (k + 1) * stateSize]` is the state at `TeacherRollout.boundarySigmas[k]`; state 0 is the initial
/// noise, state K the final sample).
public struct RolloutTrajectory: Sendable, Equatable {
    public var seed: UInt64
    public var label: Int
    public var guidance: Float
    public var states: [Float]

    public init(seed: UInt64, label: Int, guidance: Float, states: [Float]) {
        (self.seed, self.label, self.guidance, self.states) = (seed, label, guidance, states)
    }
}

/// The teacher's probability-flow ODE solved with Euler on the subdivided student grid
/// (paper §4.2-4.3, "On-Trajectory"): K student segments of S Euler sub-steps each, with
/// classifier-free guidance w per sample, keeping the K+1 states at the segment boundaries.
///
/// The boundary states depend only on (noise, label, w) of each sample: neither the batch it comes
/// in nor the thread count changes its trajectory (see `boundaryStates`; tested bit for bit).
public struct TeacherRollout: Sendable {
    public let model: VelocityModel
    /// K, the number of student segments.
    public let segments: Int
    /// S, Euler sub-steps of the teacher per segment.
    public let substeps: Int
    /// The K-step student grid (its K+1 sigmas are the boundaries).
    public let studentGrid: SigmaSchedule
    /// The teacher's K*S-step grid; point k*S is student boundary k.
    public let teacherGrid: SigmaSchedule
    /// The guidance range [lo, hi] per-sample w is drawn from (lo == hi: every sample uses lo).
    public let guidanceRange: (lo: Float, hi: Float)
    /// Shape of one sample's state, [C, H, W] (default: the model's).
    public let sampleShape: [Int]

    public init(model: VelocityModel, segments: Int = 4, substeps: Int = 8, schedule: ScheduleKind = .fixed,
                shift: Float = 3, guidanceRange: (lo: Float, hi: Float), sampleShape: [Int]? = nil) {
        self.init(model: model, studentGrid: SigmaSchedule.make(schedule, steps: segments, shift: shift),
                  substeps: substeps, guidanceRange: guidanceRange, sampleShape: sampleShape)
    }

    /// A rollout on any student grid (for example an explicit one), subdivided into `substeps`.
    public init(model: VelocityModel, studentGrid: SigmaSchedule, substeps: Int,
                guidanceRange: (lo: Float, hi: Float), sampleShape: [Int]? = nil) {
        precondition(substeps >= 1, "TeacherRollout: substeps must be at least 1, got \(substeps)")
        precondition(guidanceRange.lo.isFinite && guidanceRange.hi.isFinite && guidanceRange.lo <= guidanceRange.hi,
                     "TeacherRollout: bad guidance range [\(guidanceRange.lo), \(guidanceRange.hi)]")
        self.model = model
        self.segments = studentGrid.steps
        self.substeps = substeps
        self.studentGrid = studentGrid
        self.teacherGrid = studentGrid.subdivided(substeps: substeps)
        self.guidanceRange = guidanceRange
        self.sampleShape = sampleShape ?? model.sampleShape
    }

    /// Floats of one state (C x H x W).
    public var stateSize: Int { sampleShape.reduce(1, *) }
    /// Floats of one trajectory: (K+1) * stateSize.
    public var rowFloats: Int { (segments + 1) * stateSize }
    /// The K+1 sigmas of the stored states (the student grid).
    public var boundarySigmas: [Float] { studentGrid.sigmas }
    /// Teacher network evaluations per sample: K*S, twice that for a guided sample (w != 1).
    public func evaluations(guidance w: Float) -> Int { teacherGrid.steps * (w == 1 ? 1 : 2) }

    /// The default label of sample seed `seed`: seed % classes (the null label 0 without classes).
    public static func defaultLabel(seed: UInt64, classes: Int = 10) -> Int { classes > 0 ? Int(seed % UInt64(classes)) : 0 }

    /// Sample seed `seed`'s guidance scale: lo + (hi - lo) u with u ~ U[0, 1) the first draw of
    /// `streamSeed(seed, StreamPurpose.guidance)`; exactly lo when lo == hi.
    public static func guidance(seed: UInt64, range: (lo: Float, hi: Float)) -> Float {
        if range.lo == range.hi { return range.lo }
        var g = SplitMix64(seed: streamSeed(seed, StreamPurpose.guidance))
        return range.lo + (range.hi - range.lo) * g.uniform()
    }

    /// This rollout's guidance scale for sample seed `seed`.
    public func guidance(seed: UInt64) -> Float { Self.guidance(seed: seed, range: guidanceRange) }

    /// The K+1 boundary states of the teacher's Euler solve from `noise` ([B] + sampleShape):
    /// element k is the [B, ...] state at `boundarySigmas[k]` (0: the noise itself, K: the sample).
    /// A pure function of (noise, labels, guidance), usable online by a distiller.
    public func boundaryStates(noise: Tensor, labels: [Int], guidance: [Float]) -> [Tensor] {
        Self.boundaryStates(model, noise: noise, labels: labels, guidance: guidance,
                            teacherGrid: teacherGrid, substeps: substeps)
    }

    /// `boundaryStates` for any model and subdivided grid: Euler on `teacherGrid` through
    /// `Sampler.sample` (so the last state is exactly the sampler's), keeping every `substeps`-th state.
    ///
    /// The whole batch is solved together; a sample's states are still bit for bit a function of its
    /// (noise, label, w) because `VelocityModel` evaluates the network in groups of at most
    /// `VelocityModel.groupRows` rows whose per-row arithmetic does not depend on the batch (padded groups
    /// where the network's does; tested against per-sample solves).
    public static func boundaryStates(_ model: VelocityModel, noise: Tensor, labels: [Int], guidance: [Float],
                                      teacherGrid: SigmaSchedule, substeps: Int) -> [Tensor] {
        precondition(teacherGrid.steps % substeps == 0,
                     "boundaryStates: \(teacherGrid.steps) teacher steps are not a multiple of \(substeps) sub-steps")
        precondition(noise.shape[0] == labels.count && guidance.count == labels.count, "boundaryStates: batch sizes differ")
        var states: [Tensor] = []
        states.reserveCapacity(teacherGrid.steps / substeps + 1)
        _ = Sampler.sample(model, noise: noise, labels: labels, guidance: guidance, sigmas: teacherGrid.sigmas,
                           method: .euler) { i, x in
            if i % substeps == 0 { states.append(x) }
        }
        return states
    }

    /// Trajectories of the given sample seeds, solved `batchSize` samples at a time (the result
    /// does not depend on `batchSize`). Labels default to seed % 10; w is drawn per seed.
    /// `onBatch(done)` is called after every batch with the number of finished samples.
    public func run(seeds: [UInt64], labels: [Int]? = nil, batchSize: Int = 64,
                    onBatch: ((Int) -> Void)? = nil) -> [RolloutTrajectory] {
        precondition(batchSize >= 1, "TeacherRollout.run: batchSize must be at least 1")
        precondition(labels == nil || labels!.count == seeds.count, "TeacherRollout.run: \(labels!.count) labels for \(seeds.count) seeds")
        var out: [RolloutTrajectory] = []
        out.reserveCapacity(seeds.count)
        for start in stride(from: 0, to: seeds.count, by: batchSize) {
            let range = start..<min(seeds.count, start + batchSize)
            out += trajectories(seeds: Array(seeds[range]), labels: labels.map { Array($0[range]) })
            onBatch?(out.count)
        }
        return out
    }

    /// One batch: the trajectories of `seeds` solved together.
    public func trajectories(seeds: [UInt64], labels: [Int]? = nil) -> [RolloutTrajectory] {
        if seeds.isEmpty { return [] }
        let labels = labels ?? seeds.map { Self.defaultLabel(seed: $0, classes: model.network.numClasses) }
        precondition(labels.count == seeds.count, "TeacherRollout.trajectories: \(labels.count) labels for \(seeds.count) seeds")
        let w = seeds.map { guidance(seed: $0) }
        let noise = Tensor.perSampleNoise(seeds: seeds, sampleShape: sampleShape)
        let states = boundaryStates(noise: noise, labels: labels, guidance: w)
        let inner = stateSize
        return seeds.indices.map { i in
            var row = [Float]()
            row.reserveCapacity(rowFloats)
            for s in states { row += s.data[(i * inner)..<((i + 1) * inner)] }
            return RolloutTrajectory(seed: seeds[i], label: labels[i], guidance: w[i], states: row)
        }
    }
}
