import Datasets
import NN
import TensorCore

/// Phased consistency distillation (`--method pcm`), after Wang et al. 2024, "Phased Consistency Models".
///
/// What is matched from the paper: the ODE trajectory is cut into K phases at edge timesteps (here the
/// student's own K+1 grid boundaries); within phase k = [sigma_{k+1}, sigma_k] one consistency function maps
/// any state x_t to the phase's clean-side edge, parameterised so that the edge is a fixed point (the
/// boundary condition holds exactly): f(x, t) = x + (sigma_{k+1} - t) v_theta(x, t) (the flow form of the
/// paper's DDIM-style parameterisation); the loss is d(f_theta(x_t, t), f_target(x_t', t')) between adjacent
/// points t > t' of the teacher's discretisation inside the phase, x_t' one teacher ODE-solver step (Euler,
/// with CFG w ~ U[--cfg-range]) from x_t, the target network an EMA of the student without gradient, d the
/// squared L2 distance (mean per element). x_t = (1 - t) x0 + t eps from a real training image, as in
/// consistency distillation. K Euler steps on the grid are then exactly the phase maps chained (f at the
/// phase start), so the ordinary sampler samples it. Not included: the paper's adversarial consistency
/// loss, its Huber distance option and its CFG-free variants.
public enum PhasedConsistency {
    /// One sample's draws.
    public struct Draw: Sendable, Equatable {
        public var image: Int
        public var phase: Int
        /// Index j of the teacher sub-step: t = sub-grid point j of the phase, t' = point j + 1.
        public var substep: Int
        public var guidance: Float
        public var noiseSeed: UInt64
    }

    /// A uniform image, phase, sub-step and guidance.
    public static func draw(_ rng: inout SplitMix64, images: Int, phases: Int, substeps: Int,
                            cfgLow: Float, cfgHigh: Float) -> Draw {
        let img = rng.below(images), k = rng.below(phases), j = rng.below(substeps)
        let w = cfgLow + (cfgHigh - cfgLow) * rng.uniform()
        return Draw(image: img, phase: k, substep: j, guidance: w, noiseSeed: rng.next())
    }

    /// f(x, t) = x + (end - t) v per sample.
    public static func phaseMap(_ x: Tensor, velocity v: Tensor, sigmas t: [Float], ends: [Float]) -> Tensor {
        var out = x
        out.add(v.scaledPerSample(zip(ends, t).map { $0 - $1 }))
        return out
    }

    /// The same on a tape (x constant, gradient through v).
    public static func phaseMap(_ x: Tensor, velocity v: Var, sigmas t: [Float], ends: [Float]) -> Var {
        v.tape.constant(x) + scalePerSample(v, zip(ends, t).map { $0 - $1 })
    }

    /// The squared distance between the student's phase map and the (constant) target.
    public static func loss(_ f: Var, target: Tensor) -> Var { meanSquaredError(f, target: target) }

    /// A batch of consistency pairs: x_t at t, x_t' at t' = the next teacher sub-grid point, the phase end.
    public struct Batch: Sendable {
        public var xt: Tensor
        public var next: Tensor
        public var sigmas: [Float]
        public var nextSigmas: [Float]
        public var ends: [Float]
        public var labels: [Int]
    }

    /// Builds the batch of `draws`: x_t from the draw's image and noise, x_t' by one teacher Euler step with CFG.
    public static func batch(_ draws: [Draw], images: ImageDataset, grid: SegmentGrid, teacher: VelocityModel) -> Batch {
        let shape = teacher.sampleShape, f = shape.reduce(1, *)
        var xt: [Float] = [], t: [Float] = [], t1: [Float] = [], ends: [Float] = [], labels: [Int] = []
        xt.reserveCapacity(draws.count * f)
        for d in draws {
            let sub = grid.teacherSigmas(segment: d.phase)
            var g = SplitMix64(seed: d.noiseSeed)
            let eps = g.normals(f)
            xt += SegmentTarget.interpolate(image: images.images.data[(d.image * f)..<((d.image + 1) * f)], noise: eps[...],
                                            sigma: sub[d.substep])
            t.append(sub[d.substep]); t1.append(sub[d.substep + 1]); ends.append(grid.end(d.phase))
            labels.append(images.labels[d.image])
        }
        let next = PairGenerator.solve(teacher, xt, labels: labels, guidance: draws.map(\.guidance),
                                       paths: draws.indices.map { [t[$0], t1[$0]] })
        return Batch(xt: stateTensor(xt, shape), next: stateTensor(next, shape), sigmas: t, nextSigmas: t1, ends: ends,
                     labels: labels)
    }
}

extension DistillTrainer {
    /// The consistency batch of step `s` for the batch samples `part` (each sample from its own stream).
    func consistencyBatch(step s: Int, samples part: Range<Int>) -> PhasedConsistency.Batch {
        guard let images = data.images else { preconditionFailure("pcm: no training images loaded") }
        let draws = part.map { i -> PhasedConsistency.Draw in
            var rng = SplitMix64(seed: DistillStream.seed(config.seed, DistillStream.batch, (s - 1) * config.batchSize + i))
            return PhasedConsistency.draw(&rng, images: images.count, phases: grid.count, substeps: grid.substeps,
                                          cfgLow: config.cfgLow, cfgHigh: config.cfgHigh)
        }
        return PhasedConsistency.batch(draws, images: images, grid: grid, teacher: data.teacher)
    }

    /// Chunk `c`'s row under `--method pcm`: the student's gradient of its share of the consistency loss
    /// against the EMA student's phase map at x_t', then the scalars (L_dist = total = the consistency loss).
    func consistencyRow(_ state: DistillState, step s: Int, chunk c: Int) -> [Float] {
        let part = GradientChunks.samples(c, of: config.batchSize, chunks: config.chunks)
        let share = GradientChunks.share(part.count, of: config.batchSize)
        let b = consistencyBatch(step: s, samples: part)
        // Stop-gradient target: the EMA weights' phase map (x_t' itself at the phase end, where end - t' = 0).
        let vTarget = studentVelocity(state.ema, b.next, sigmas: b.nextSigmas, labels: b.labels)
        let target = PhasedConsistency.phaseMap(b.next, velocity: vTarget, sigmas: b.nextSigmas, ends: b.ends)
        let tape = Tape()
        let (p, trained) = studentParameters(tape, state.student)
        let v = network(tape.constant(b.xt), sigmas: b.sigmas, labels: b.labels, p)
        let loss = PhasedConsistency.loss(PhasedConsistency.phaseMap(b.xt, velocity: v, sigmas: b.sigmas, ends: b.ends),
                                          target: target).scaled(by: share)
        var scalars = [Float](repeating: 0, count: Self.scalarCount)
        scalars[0] = loss.value.scalar
        scalars[1] = scalars[0]
        var row: [Float] = []
        row.reserveCapacity(state.student.parameterCount + Self.scalarCount)
        GradientChunks.append(trained.gradients(tape.backward(loss)), keys: state.student.keys, to: &row)
        return row + scalars
    }
}
