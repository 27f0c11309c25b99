import Datasets
import NN
import TensorCore

/// Where a run's training segments come from, and the step-indexed draws that pick them.
///
/// Every choice is a pure function of (seed, step, sample index): distillation sample g = (step-1)*B + i
/// reads pair `perm_e[g mod P]` of a seeded per-epoch permutation of the P available pairs (bank rows x K
/// for OTA, rows for ReFlow, the PeRFlow pool), or, online, a pair generated from its own stream; its
/// sigma_t comes from the same stream. Adversarial sample a = (step-1)*A + i draws its segment from the
/// adversarial probabilities and then a row (bank), a pair of that segment (pool) or a fresh solve (online).
public struct DistillData: Sendable {
    public let config: DistillConfig
    public let grid: SegmentGrid
    public let teacher: VelocityModel
    public let trajectories: TrajectorySet?
    public let images: ImageDataset?
    /// The pre-generated PeRFlow pool (interpolated starts, not online).
    public let pool: SegmentPairs?
    let poolBySegment: [[Int]]
    /// Indices of the training images of each label (for --adv-real data).
    let imagesByLabel: [[Int]]

    /// - Parameters:
    ///   - trajectories: the bank (required for reflow and bank OTA; its K must equal `config.segments`
    ///     except for reflow, which only reads noise and final state).
    ///   - images: ImageDataset train (required for PeRFlow-style starts and for --adv-real data).
    ///   - poolProgress: called with the number of pool pairs generated so far.
    public init(config: DistillConfig, teacher: VelocityModel, trajectories: TrajectorySet?, images: ImageDataset?,
                poolProgress: ((Int) -> Void)? = nil) throws {
        try config.validate()
        if let b = config.discBlocks {
            guard let most = teacher.network.maxEncoderBlocks else {
                throw DistillConfigError("--disc-blocks: the \(teacher.network.modelConfig.kind) teacher's discriminator has a fixed depth "
                                         + "(down path and middle block); the option is for DiT teachers")
            }
            guard (1...most).contains(b) else {
                throw DistillConfigError("--disc-blocks \(b): the teacher has \(most) blocks (give 1...\(most))")
            }
        }
        self.config = config
        self.teacher = teacher
        self.grid = config.method == .reflow
            ? SegmentGrid.reflow(substeps: config.substeps)
            : SegmentGrid(kind: config.schedule, segments: config.segments, shift: config.shift, substeps: config.substeps)
        if config.needsBank {
            guard let t = trajectories, t.count > 0 else {
                throw DistillConfigError("\(config.method.rawValue)\(config.ota ? " --ota" : "") needs a trajectory bank with at least one row (--bank)")
            }
            if config.method != .reflow && t.segments != config.segments {
                throw DistillConfigError("the bank holds trajectories with K = \(t.segments) segments but --segments is \(config.segments)")
            }
        }
        self.trajectories = config.needsBank ? trajectories : nil
        if config.needsImages {
            guard let im = images, im.count > 0 else {
                throw DistillConfigError(config.startSource == .interpolated
                    ? "PeRFlow-style segment starts need the MNIST training images"
                    : "--adv-real data needs the MNIST training images")
            }
            self.images = im
        } else {
            self.images = nil
        }
        var byLabel = [[Int]](repeating: [], count: teacher.network.numClasses)
        if config.advReal == .data, let im = self.images {
            for (i, y) in im.labels.enumerated() where y >= 0 && y < byLabel.count { byLabel[y].append(i) }
        }
        imagesByLabel = byLabel
        if config.generatesPool {
            let p = PairGenerator.pool(count: config.pairs, seed: config.seed, images: images!, grid: grid, teacher: teacher,
                                       cfgLow: config.cfgLow, cfgHigh: config.cfgHigh, progress: poolProgress)
            pool = p
            var by = [[Int]](repeating: [], count: grid.count)
            for i in 0..<p.count { by[p.segments[i]].append(i) }
            poolBySegment = by
        } else {
            pool = nil
            poolBySegment = []
        }
    }

    /// Number of distinct distillation pairs an epoch runs through (nil when generated online).
    public var pairCount: Int? {
        switch config.startSource {
        case .bankNoise: return trajectories!.count
        case .trajectory: return config.online ? nil : trajectories!.count * grid.count
        case .interpolated: return pool?.count
        }
    }

    /// A sample's u in (0, 1]: uniform, or 1 (the segment start) with probability `startShare`. The extra draw
    /// happens only when a share is set, so runs without one keep their random streams.
    private func placement(_ rng: inout SplitMix64) -> Float {
        let u = rng.uniformOpen()
        guard let share = config.startShare, share > 0 else { return u }
        return rng.uniform() < share ? 1 : u
    }

    /// The distillation batch of step `step` (1-based) and each sample's u in (0, 1] placing sigma_t in its segment.
    /// `samples` selects a part of the batch (a gradient chunk); each pair is the same as in the whole batch.
    public func distillationPairs(step: Int, samples: Range<Int>? = nil) -> (pairs: SegmentPairs, u: [Float]) {
        let b = config.batchSize
        let range = samples ?? 0..<b
        var u: [Float] = []
        if let p = pairCount {
            var out = SegmentPairs(sampleShape: teacher.sampleShape)
            var epoch = -1, perm: [Int] = []
            for i in range {
                let g = (step - 1) * b + i
                if g / p != epoch { epoch = g / p; perm = permutation(p, seed: DistillStream.seed(config.seed, DistillStream.epoch, epoch)) }
                let idx = perm[g % p]
                var rng = SplitMix64(seed: DistillStream.seed(config.seed, DistillStream.batch, g))
                u.append(placement(&rng))
                switch config.startSource {
                case .bankNoise: out.append(trajectories!.endpointPair(row: idx), 0)
                case .trajectory: out.append(trajectories!.pair(row: idx / grid.count, segment: idx % grid.count), 0)
                case .interpolated: out.append(pool!, idx)
                }
            }
            return (out, u)
        }
        var specs: [PairSpec] = []
        let probs = SegmentSampling.uniform(grid.count)
        for i in range {
            var rng = SplitMix64(seed: DistillStream.seed(config.seed, DistillStream.batch, (step - 1) * b + i))
            u.append(placement(&rng))
            specs.append(spec(&rng, probabilities: probs))
        }
        return (generate(specs), u)
    }

    /// The adversarial batch of step `step`: segments drawn with `config.adversarialProbabilities`.
    /// Round r > 0 (the extra D rounds of --d-steps) draws from its own stream.
    public func adversarialPairs(step: Int, samples: Range<Int>? = nil, round: Int = 0) -> SegmentPairs {
        let a = config.advBatchSize
        let probs = config.adversarialProbabilities
        var out = SegmentPairs(sampleShape: teacher.sampleShape)
        var specs: [PairSpec] = []
        for i in samples ?? 0..<a {
            var rng = SplitMix64(seed: round == 0 ? DistillStream.seed(config.seed, DistillStream.adversarial, (step - 1) * a + i)
                : DistillStream.seed(config.seed, DistillStream.discRound, ((step - 1) * DistillTrainer.maxDiscSteps + round) * a + i))
            switch config.startSource {
            case .bankNoise:
                out.append(trajectories!.endpointPair(row: rng.below(trajectories!.count)), 0)
            case .trajectory where !config.online:
                let k = SegmentSampling.pick(probs, u: rng.uniform())
                out.append(trajectories!.pair(row: rng.below(trajectories!.count), segment: k), 0)
            case .interpolated where !config.online:
                let k = SegmentSampling.pick(probs, u: rng.uniform())
                // A small pool may hold no pair of segment k; then any pool pair is used.
                let candidates = poolBySegment[k].isEmpty ? Array(0..<pool!.count) : poolBySegment[k]
                out.append(pool!, candidates[rng.below(candidates.count)])
            default:
                specs.append(spec(&rng, probabilities: probs))
            }
        }
        return specs.isEmpty ? out : generate(specs)
    }

    /// D's real states for the adversarial batch `pairs` of step `step` under --adv-real data: for sample i a
    /// training image x0 of label y_i, noised to the end sigma of its segment (or to `sigmas[i]`), (1 - sigma) x0 + sigma eps,
    /// with eps and the image drawn from the sample's own stream.
    /// `first` is the index of `pairs`' first sample in the adversarial batch (a gradient chunk's offset).
    public func realStates(_ pairs: SegmentPairs, step: Int, first: Int = 0, sigmas: [Float]? = nil) -> [Float] {
        guard let images else { preconditionFailure("DistillData.realStates: no training images loaded") }
        let f = pairs.sampleFloats
        var out: [Float] = []
        out.reserveCapacity(pairs.count * f)
        for i in 0..<pairs.count {
            var rng = SplitMix64(seed: DistillStream.seed(config.seed, DistillStream.advReal, (step - 1) * config.advBatchSize + first + i))
            let candidates = imagesByLabel[pairs.labels[i]]
            precondition(!candidates.isEmpty, "DistillData.realStates: no training image of label \(pairs.labels[i])")
            let img = candidates[rng.below(candidates.count)]
            let eps = rng.normals(f)
            out += SegmentTarget.interpolate(image: images.images.data[(img * f)..<((img + 1) * f)], noise: eps[...],
                                             sigma: sigmas?[i] ?? grid.end(pairs.segments[i]))
        }
        return out
    }

    private func spec(_ rng: inout SplitMix64, probabilities: [Double]) -> PairSpec {
        config.startSource == .trajectory
            ? PairSpec.trajectory(&rng, classes: teacher.network.numClasses, probabilities: probabilities,
                                  cfgLow: config.cfgLow, cfgHigh: config.cfgHigh)
            : PairSpec.interpolated(&rng, images: images!, probabilities: probabilities,
                                    cfgLow: config.cfgLow, cfgHigh: config.cfgHigh)
    }

    private func generate(_ specs: [PairSpec]) -> SegmentPairs {
        config.startSource == .trajectory
            ? PairGenerator.trajectory(specs, grid: grid, teacher: teacher)
            : PairGenerator.interpolated(specs, images: images!, grid: grid, teacher: teacher)
    }
}
