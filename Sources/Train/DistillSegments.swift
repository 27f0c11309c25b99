import TensorCore

/// The student's K segments and the teacher's sub-grid inside them.
///
/// Segment k runs from `sigmas[k]` down to `sigmas[k+1]` of the K-step grid of `--schedule` (k = 0 is the
/// noisiest segment, starting at sigma = 1). The student's inference is one Euler step per segment. The
/// teacher walks segment k with `substeps` Euler steps placed by `SigmaSchedule.subdivided(substeps:)`
/// (for the fixed grid, K*S steps give exactly the fixed K*S-step schedule).
///
/// Fixed grid, K = 4, shift 3: boundaries {1, .9, .75, .5, 0}; diffusers grid: {1, .857692, .602151, .008929, 0}.
public struct SegmentGrid: Sendable, Equatable {
    /// The student grid (K+1 boundaries, ending at 0).
    public let schedule: SigmaSchedule
    /// The teacher's sub-grid: K*S+1 sigmas, segment k covering indices k*S ... (k+1)*S.
    public let teacher: SigmaSchedule
    public let substeps: Int

    public init(kind: ScheduleKind, segments: Int, shift: Float, substeps: Int) {
        let s = SigmaSchedule.make(kind, steps: segments, shift: shift)
        self.init(schedule: s, substeps: substeps)
    }

    public init(schedule: SigmaSchedule, substeps: Int) {
        precondition(substeps >= 1, "SegmentGrid: substeps must be at least 1")
        self.schedule = schedule
        self.teacher = schedule.subdivided(substeps: substeps)
        self.substeps = substeps
    }

    /// ReFlow's single segment [1 -> 0].
    public static func reflow(substeps: Int) -> SegmentGrid {
        SegmentGrid(schedule: try! SigmaSchedule(explicit: [1, 0]), substeps: substeps)
    }

    /// Number of segments K.
    public var count: Int { schedule.steps }
    /// The K+1 boundaries, 1 ... 0.
    public var boundaries: [Float] { schedule.sigmas }
    /// sigma at the start (noisy end) of segment k.
    public func start(_ k: Int) -> Float { schedule.sigmas[k] }
    /// sigma at the end (clean end) of segment k.
    public func end(_ k: Int) -> Float { schedule.sigmas[k + 1] }

    /// Per-segment weights that turn the velocity MSE into the MSE of the state the step lands on:
    /// (sigma_{k+1} - sigma_k)^2, normalised to mean 1 over the segments (so the loss keeps its scale).
    public var stateWeights: [Float] {
        let sq = (0..<count).map { k in (end(k) - start(k)) * (end(k) - start(k)) }
        let mean = sq.reduce(0, +) / Float(count)
        return sq.map { $0 / mean }
    }

    /// The teacher's S+1 sigmas across segment k, from `start(k)` to `end(k)`.
    public func teacherSigmas(segment k: Int) -> [Float] {
        Array(teacher.sigmas[SigmaSchedule.segmentRange(k, substeps: substeps)])
    }

    /// The teacher's sigmas from 1 down to boundary `b` (b*S+1 values; b = 0 gives [1]).
    public func teacherSigmas(toBoundary b: Int) -> [Float] {
        Array(teacher.sigmas[0...(b * substeps)])
    }
}

/// Segment probabilities and the per-segment distillation target (paper §3, §4.3, §5).
public enum SegmentSampling {
    /// Uniform over the K segments (the distillation loss; PeRFlow and the pilot).
    public static func uniform(_ k: Int) -> [Double] { [Double](repeating: 1 / Double(k), count: k) }

    /// The adversarial segment probabilities: 0.4 for the first (noisiest) segment and equal shares of
    /// the remaining 0.6 for the others, so K = 4 gives the paper's {0.4, 0.2, 0.2, 0.2}; K = 1 gives {1}.
    public static func adversarial(_ k: Int) -> [Double] {
        precondition(k >= 1, "SegmentSampling.adversarial: K must be at least 1")
        if k == 1 { return [1] }
        return [0.4] + [Double](repeating: 0.6 / Double(k - 1), count: k - 1)
    }

    /// The segment whose cumulative-probability interval holds u in [0, 1).
    public static func pick(_ probabilities: [Double], u: Float) -> Int {
        var acc = 0.0
        for (i, p) in probabilities.enumerated() {
            acc += p
            if Double(u) < acc { return i }
        }
        return probabilities.count - 1
    }

    /// sigma_t uniform in (end, start] from u in (0, 1] (`SplitMix64.uniformOpen`): u = 1 gives the start.
    public static func sigma(start: Float, end: Float, u: Float) -> Float { end + u * (start - end) }
}

/// The constant velocity of a straight segment and points on it (one sample's row of floats).
public enum SegmentTarget {
    /// v* = (z_end - z_start) / (sigma_end - sigma_start).
    public static func velocity(start: ArraySlice<Float>, end: ArraySlice<Float>, sigmaStart: Float, sigmaEnd: Float) -> [Float] {
        precondition(start.count == end.count && sigmaEnd != sigmaStart, "SegmentTarget.velocity: bad segment")
        let inv = 1 / (sigmaEnd - sigmaStart)
        return zip(start, end).map { (s, e) in (e - s) * inv }
    }

    /// z_t = z_start + (sigma_t - sigma_start) v*, the point of the straight segment at sigma_t.
    public static func point(start: ArraySlice<Float>, velocity: [Float], sigmaStart: Float, sigma: Float) -> [Float] {
        precondition(start.count == velocity.count, "SegmentTarget.point: sizes differ")
        let d = sigma - sigmaStart
        return zip(start, velocity).map { (s, v) in s + d * v }
    }

    /// PeRFlow's off-trajectory start sigma eps + (1 - sigma) x0.
    public static func interpolate(image: ArraySlice<Float>, noise: ArraySlice<Float>, sigma: Float) -> [Float] {
        precondition(image.count == noise.count, "SegmentTarget.interpolate: sizes differ")
        return zip(image, noise).map { (x, e) in sigma * e + (1 - sigma) * x }
    }
}
