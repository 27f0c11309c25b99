import Datasets
import Distributed
import NN
import TensorCore

/// The state a checkpoint must hold to resume bit-identically: weights, EMA, optimizer moments and
/// the step. Every random draw and the data order are pure functions of (seed, step), so the step
/// is the whole RNG and data position.
public struct TrainingState: Sendable {
    public var step: Int
    public var weights: StateDict
    public var ema: StateDict
    public var optimizer: AdamW

    public init(step: Int, weights: StateDict, ema: StateDict, optimizer: AdamW) {
        (self.step, self.weights, self.ema, self.optimizer) = (step, weights, ema, optimizer)
    }
}

/// Thrown when the loss becomes NaN/infinite or explodes; the caller keeps the last good checkpoint.
public struct TrainingDiverged: Error, CustomStringConvertible {
    public let step: Int, loss: Float
    public var description: String {
        "training diverged at step \(step): loss \(loss) (the last good checkpoint is kept; lower the learning rate or resume)"
    }
}

/// Flow-matching training of a velocity network (any backbone) on any image dataset (class-conditional with label
/// dropout for CFG; an unlabelled dataset trains the null label only).
public struct TeacherTrainer {
    public let config: TeacherTrainingConfig
    public let network: any VelocityNetwork
    let data: ImageDataset
    /// The ranks that share each step's chunks (`GradientChunks`); one local rank by default.
    public let communicator: Communicator

    public init(config: TeacherTrainingConfig, data: ImageDataset, communicator: Communicator = .local) {
        self.config = config
        self.network = config.model.makeNetwork()
        self.data = data
        self.communicator = communicator
    }

    public func initialState() -> TrainingState {
        let w = network.initialParameters(seed: config.seed)
        return TrainingState(step: 0, weights: w, ema: w, optimizer: AdamW(weightDecay: config.weightDecay))
    }

    /// The batch of step `step` (1-based): images in a per-epoch seeded permutation, and per-sample
    /// noise, sigma and label dropout drawn from streams keyed by the sample's global index.
    /// `samples` selects a part of the batch (a gradient chunk); each sample is the same as in the whole batch.
    public func batch(step: Int, samples: Range<Int>? = nil) -> (x0: Tensor, noise: Tensor, sigmas: [Float], labels: [Int]) {
        let b = config.batchSize, n = data.count
        let f = data.geometry.floats
        let range = samples ?? 0..<b
        var images = [Float](); images.reserveCapacity(range.count * f)
        var labels: [Int] = [], sigmas: [Float] = [], seeds: [UInt64] = []
        var epoch = -1, perm: [Int] = []
        for i in range {
            let global = (step - 1) * b + i
            let e = global / n
            if e != epoch { epoch = e; perm = permutation(n, seed: streamSeed(config.seed, StreamPurpose.data, UInt64(e))) }
            let idx = perm[global % n]
            images += data.images.data[(idx * f)..<((idx + 1) * f)]
            var rng = SplitMix64(seed: streamSeed(config.seed, StreamPurpose.trainBatch, UInt64(global)))
            sigmas.append(config.sigmaSampler.draw(&rng))
            let dropped = rng.uniform() < config.labelDropout || !data.isLabelled  // draw kept for every sample
            labels.append(dropped ? config.model.nullLabel : data.labels[idx])
            seeds.append(streamSeed(config.seed, StreamPurpose.noise, UInt64(global)))
        }
        let shape = data.geometry.sampleShape
        let noise = Tensor.perSampleNoise(seeds: seeds, sampleShape: shape)
        return (Tensor(shape: [range.count] + shape, data: images), noise, sigmas, labels)
    }

    /// EMA decay with a warm-up, min(decay, (1 + step) / (10 + step)), so early EMA tracks quickly.
    func emaDecay(step: Int) -> Float { min(config.emaDecay, Float(1 + step) / Float(10 + step)) }

    /// Advances `state` by one step; returns the loss. Throws `TrainingDiverged` without touching `state`
    /// (on every rank alike: the loss is the same ordered sum everywhere), or a `CommunicatorError`.
    ///
    /// The batch's `config.chunks` chunks are differentiated one tape each (this rank's block of them), the
    /// gradients and loss shares added in chunk order over all ranks (`GradientChunks`), then clipped and
    /// applied identically on every rank.
    public func step(_ state: inout TrainingState, lossScale reference: Float?) throws -> Float {
        let s = state.step + 1
        let b = config.batchSize, chunks = config.chunks
        let keys = state.weights.keys
        let length = state.weights.parameterCount + 1
        let mine = communicator.ownedChunks(of: chunks)
        var rows = [Float](); rows.reserveCapacity(mine.count * length)
        for c in mine {
            let part = GradientChunks.samples(c, of: b, chunks: chunks)
            let (x0, noise, sigmas, labels) = batch(step: s, samples: part)
            let tape = Tape()
            let p = tape.bind(state.weights)
            let loss = flowMatchingLoss(network, p, x0: x0, noise: noise, sigmas: sigmas, labels: labels, tape: tape)
                .scaled(by: GradientChunks.share(part.count, of: b))
            GradientChunks.append(p.gradients(tape.backward(loss)), keys: keys, to: &rows)
            rows.append(loss.value.scalar)
        }
        let sum = try communicator.orderedChunkSum(rows, length: length, totalChunks: chunks)
        var offset = 0
        var grads = GradientChunks.unpack(sum, like: state.weights, offset: &offset)
        let loss = sum[offset]
        var weights = state.weights, opt = state.optimizer
        let lr = warmupLearningRate(base: config.learningRate, step: s, warmup: config.warmupSteps)
        clipGradientNorm(&grads, maxNorm: config.gradClip)
        opt.update(&weights, grads: grads, lr: lr, frozen: network.frozenKeys)
        if !loss.isFinite || (reference.map { loss > 20 * $0 + 1 } ?? false) {
            throw TrainingDiverged(step: s, loss: loss)
        }
        state.weights = weights
        state.optimizer = opt
        EMA.update(&state.ema, toward: weights, decay: emaDecay(step: s))
        state.step = s
        return loss
    }
}

/// A seeded Fisher-Yates permutation of 0..<n.
public func permutation(_ n: Int, seed: UInt64) -> [Int] {
    var p = Array(0..<n), g = SplitMix64(seed: seed)
    for i in stride(from: n - 1, to: 0, by: -1) { p.swapAt(i, g.below(i + 1)) }
    return p
}
