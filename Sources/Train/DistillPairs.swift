import Datasets
import TensorCore

/// A batch of training segments: for pair i its segment k, label, the teacher's CFG scale, the start
/// state (at `grid.start(k)`), the end state (at `grid.end(k)`), and, for on-trajectory pairs, the
/// trajectory's initial noise (needed by the adversarial `rollout` fake). States are flat rows of
/// `sampleFloats` values (one NCHW sample of shape `sampleShape`).
public struct SegmentPairs: Sendable, Equatable {
    public var sampleShape: [Int]
    public var sampleFloats: Int { sampleShape.reduce(1, *) }

    public var segments: [Int] = []
    public var labels: [Int] = []
    public var guidance: [Float] = []
    public var starts: [Float] = []
    public var ends: [Float] = []
    /// The trajectory's noise per pair (on-trajectory pairs only; empty otherwise).
    public var noises: [Float] = []

    public init(sampleShape: [Int]) { self.sampleShape = sampleShape }

    public var count: Int { segments.count }
    public var hasNoise: Bool { !noises.isEmpty }

    public func start(_ i: Int) -> ArraySlice<Float> { starts[(i * sampleFloats)..<((i + 1) * sampleFloats)] }
    public func end(_ i: Int) -> ArraySlice<Float> { ends[(i * sampleFloats)..<((i + 1) * sampleFloats)] }
    public func noise(_ i: Int) -> ArraySlice<Float> { noises[(i * sampleFloats)..<((i + 1) * sampleFloats)] }

    /// Appends pair `i` of `other`.
    public mutating func append(_ other: SegmentPairs, _ i: Int) {
        segments.append(other.segments[i]); labels.append(other.labels[i]); guidance.append(other.guidance[i])
        starts += other.start(i); ends += other.end(i)
        if other.hasNoise { noises += other.noise(i) }
    }

    /// Appends every pair of `other`, in order.
    public mutating func append(contentsOf other: SegmentPairs) {
        for i in 0..<other.count { append(other, i) }
    }

    /// The pairs at `indices`, in that order.
    public func subset(_ indices: [Int]) -> SegmentPairs {
        var out = SegmentPairs(sampleShape: sampleShape)
        out.starts.reserveCapacity(indices.count * sampleFloats)
        out.ends.reserveCapacity(indices.count * sampleFloats)
        for i in indices { out.append(self, i) }
        return out
    }

    /// Rows of this geometry as an [n, C, H, W] tensor.
    public func tensor(_ rows: [Float]) -> Tensor { stateTensor(rows, sampleShape) }
}

/// Flat rows of samples of shape `sampleShape` as an [n] + sampleShape tensor.
public func stateTensor(_ rows: [Float], _ sampleShape: [Int]) -> Tensor {
    Tensor(shape: [rows.count / sampleShape.reduce(1, *)] + sampleShape, data: rows)
}

/// Teacher trajectories in memory (a trajectory bank without the store): per row its label, CFG scale
/// and K+1 boundary states on the student grid (state 0 = the noise, state K = the final sample).
public struct TrajectorySet: Sendable {
    public let segments: Int
    public let labels: [Int]
    public let guidance: [Float]
    /// count * (K+1) * sampleFloats floats, row-major by sample then boundary.
    public let states: [Float]
    /// [C, H, W] of one state.
    public let sampleShape: [Int]
    public var sampleFloats: Int { sampleShape.reduce(1, *) }

    public init(segments: Int, labels: [Int], guidance: [Float], states: [Float], sampleShape: [Int]) {
        let f = sampleShape.reduce(1, *)
        precondition(labels.count == guidance.count && states.count == labels.count * (segments + 1) * f,
                     "TrajectorySet: \(states.count) floats for \(labels.count) rows of \(segments + 1) states of \(sampleShape)")
        (self.segments, self.labels, self.guidance, self.states, self.sampleShape) = (segments, labels, guidance, states, sampleShape)
    }

    public var count: Int { labels.count }

    /// Boundary state b (0...K) of row r.
    public func state(_ r: Int, _ b: Int) -> ArraySlice<Float> {
        let n = sampleFloats, base = (r * (segments + 1) + b) * n
        return states[base..<(base + n)]
    }

    /// The on-trajectory pair of row r and segment k: z_k -> z_{k+1}, with the row's noise.
    public func pair(row r: Int, segment k: Int) -> SegmentPairs {
        var p = SegmentPairs(sampleShape: sampleShape)
        p.segments = [k]; p.labels = [labels[r]]; p.guidance = [guidance[r]]
        p.starts = Array(state(r, k)); p.ends = Array(state(r, k + 1)); p.noises = Array(state(r, 0))
        return p
    }

    /// ReFlow's pair of row r: (noise, final sample), as the single segment 0 of [1 -> 0].
    public func endpointPair(row r: Int) -> SegmentPairs {
        var p = SegmentPairs(sampleShape: sampleShape)
        p.segments = [0]; p.labels = [labels[r]]; p.guidance = [guidance[r]]
        p.starts = Array(state(r, 0)); p.ends = Array(state(r, segments)); p.noises = p.starts
        return p
    }
}

/// What defines one generated pair before the teacher runs: its segment, label, CFG scale, noise seed,
/// and (PeRFlow) the index of the real training image.
public struct PairSpec: Sendable, Equatable {
    public var segment: Int
    public var label: Int
    public var guidance: Float
    public var noiseSeed: UInt64
    public var image: Int?

    /// A PeRFlow pair: a uniformly drawn training image (with its label), segment from `probabilities`.
    public static func interpolated(_ rng: inout SplitMix64, images: ImageDataset, probabilities: [Double],
                                    cfgLow: Float, cfgHigh: Float) -> PairSpec {
        let img = rng.below(images.count)
        let k = SegmentSampling.pick(probabilities, u: rng.uniform())
        let w = cfgLow + (cfgHigh - cfgLow) * rng.uniform()
        return PairSpec(segment: k, label: images.labels[img], guidance: w, noiseSeed: rng.next(), image: img)
    }

    /// An online OTA pair: fresh noise, a uniform label 0..<classes, segment from `probabilities`.
    public static func trajectory(_ rng: inout SplitMix64, classes: Int, probabilities: [Double],
                                  cfgLow: Float, cfgHigh: Float) -> PairSpec {
        let label = rng.below(classes)
        let k = SegmentSampling.pick(probabilities, u: rng.uniform())
        let w = cfgLow + (cfgHigh - cfgLow) * rng.uniform()
        return PairSpec(segment: k, label: label, guidance: w, noiseSeed: rng.next(), image: nil)
    }
}

/// Teacher ODE solves that turn pair specs into segment pairs (PeRFlow windows and online OTA).
public enum PairGenerator {
    /// Samples per teacher call: the pilot measured batch 64 fastest on this CPU.
    public static let chunk = 64

    /// Euler with CFG: row i of `x` walks its own descending `paths[i]` (a path of one sigma is no step).
    /// Rows are processed in fixed chunks of `chunk`, so the result does not depend on the caller's batching.
    public static func solve(_ teacher: VelocityModel, _ x: [Float], labels: [Int], guidance: [Float], paths: [[Float]]) -> [Float] {
        let n = labels.count, f = teacher.sampleShape.reduce(1, *)
        precondition(x.count == n * f && guidance.count == n && paths.count == n, "PairGenerator.solve: sizes differ")
        var out = x
        var lo = 0
        while lo < n {
            let hi = min(n, lo + chunk)
            let longest = paths[lo..<hi].map(\.count).max() ?? 1
            for j in 0..<max(0, longest - 1) {
                let active = (lo..<hi).filter { j + 1 < paths[$0].count }
                if active.isEmpty { break }
                var rows: [Float] = []; rows.reserveCapacity(active.count * f)
                for i in active { rows += out[(i * f)..<((i + 1) * f)] }
                let v = teacher.velocity(stateTensor(rows, teacher.sampleShape), sigmas: active.map { paths[$0][j] },
                                         labels: active.map { labels[$0] }, guidance: active.map { guidance[$0] })
                for (a, i) in active.enumerated() {
                    let d = paths[i][j + 1] - paths[i][j]
                    for q in 0..<f { out[i * f + q] += d * v.data[a * f + q] }
                }
            }
            lo = hi
        }
        return out
    }

    /// PeRFlow pairs: z_start = sigma_k eps + (1 - sigma_k) x0 with the spec's real image, z_end = the
    /// teacher's S-step Euler solve of segment k with CFG w. Off-trajectory: no `noises`.
    public static func interpolated(_ specs: [PairSpec], images: ImageDataset, grid: SegmentGrid, teacher: VelocityModel) -> SegmentPairs {
        var p = SegmentPairs(sampleShape: teacher.sampleShape)
        let f = p.sampleFloats
        p.starts.reserveCapacity(specs.count * f)
        for s in specs {
            guard let img = s.image else { preconditionFailure("PairGenerator.interpolated: spec without an image") }
            var g = SplitMix64(seed: s.noiseSeed)
            let eps = g.normals(f)
            p.starts += SegmentTarget.interpolate(image: images.images.data[(img * f)..<((img + 1) * f)],
                                                  noise: eps[...], sigma: grid.start(s.segment))
            p.segments.append(s.segment); p.labels.append(s.label); p.guidance.append(s.guidance)
        }
        p.ends = solve(teacher, p.starts, labels: p.labels, guidance: p.guidance,
                       paths: specs.map { grid.teacherSigmas(segment: $0.segment) })
        return p
    }

    /// Online OTA pairs: the teacher solves from the spec's noise to boundary k (the start) and on
    /// through segment k (the end), exactly as a bank rollout on the same grid would.
    public static func trajectory(_ specs: [PairSpec], grid: SegmentGrid, teacher: VelocityModel) -> SegmentPairs {
        var p = SegmentPairs(sampleShape: teacher.sampleShape)
        let f = p.sampleFloats
        p.noises.reserveCapacity(specs.count * f)
        for s in specs {
            var g = SplitMix64(seed: s.noiseSeed)
            p.noises += g.normals(f)
            p.segments.append(s.segment); p.labels.append(s.label); p.guidance.append(s.guidance)
        }
        p.starts = solve(teacher, p.noises, labels: p.labels, guidance: p.guidance,
                         paths: specs.map { grid.teacherSigmas(toBoundary: $0.segment) })
        p.ends = solve(teacher, p.starts, labels: p.labels, guidance: p.guidance,
                       paths: specs.map { grid.teacherSigmas(segment: $0.segment) })
        return p
    }

    /// The deterministic PeRFlow pool of `count` pairs for run seed `seed`: pair i depends only on (seed, i).
    public static func pool(count: Int, seed: UInt64, images: ImageDataset, grid: SegmentGrid, teacher: VelocityModel,
                            cfgLow: Float, cfgHigh: Float, progress: ((Int) -> Void)? = nil) -> SegmentPairs {
        let probs = SegmentSampling.uniform(grid.count)
        var out = SegmentPairs(sampleShape: teacher.sampleShape)
        var lo = 0
        while lo < count {
            let hi = min(count, lo + chunk)
            let specs = (lo..<hi).map { i -> PairSpec in
                var g = SplitMix64(seed: DistillStream.seed(seed, DistillStream.pool, i))
                return PairSpec.interpolated(&g, images: images, probabilities: probs, cfgLow: cfgLow, cfgHigh: cfgHigh)
            }
            let part = interpolated(specs, images: images, grid: grid, teacher: teacher)
            for i in 0..<part.count { out.append(part, i) }
            lo = hi
            progress?(lo)
        }
        return out
    }
}
