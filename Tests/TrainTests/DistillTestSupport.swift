import Datasets
import NN
import TensorCore
import TestSupport
@testable import Train

/// Small fixtures for the distillation tests: a tiny random teacher whose velocity is not zero, fake
/// "MNIST" images, and a teacher trajectory bank made with the committed sampler.
enum DistillFixtures {
    static let config = UNetConfig(channels: [8, 16], embedDim: 32)

    static func teacher(seed: UInt64 = 11) -> VelocityModel {
        let unet = UNet(config)
        var w = unet.initialParameters(seed: seed)
        // conv_out is zero-initialised; give it weights so the teacher's velocity is not 0.
        w["conv_out.weight"] = randomTensor(w["conv_out.weight"]!.shape, seed: seed + 1, scale: 0.05)
        w["conv_out.bias"] = randomTensor([1], seed: seed + 2, scale: 0.05)
        return try! VelocityModel(config: .unet(config), weights: w)
    }

    static func images(count: Int = 24) -> ImageDataset {
        var g = SplitMix64(seed: 5)
        let data = (0..<(count * 784)).map { _ in 2 * g.uniform() - 1 }
        return ImageDataset(split: .train, images: Tensor(shape: [count, 1, 28, 28], data: data), labels: (0..<count).map { $0 % 10 })
    }

    /// `rows` teacher trajectories on the K-segment grid (S sub-steps each), K+1 boundary states per row.
    static func bank(_ teacher: VelocityModel, segments: Int, schedule: ScheduleKind = .fixed, substeps: Int = 1,
                     rows: Int = 4) -> TrajectorySet {
        let grid = SegmentGrid(kind: schedule, segments: segments, shift: 3, substeps: substeps)
        let labels = (0..<rows).map { $0 % 10 }
        let guidance = (0..<rows).map { 1 + Float($0 % 3) * 0.5 }
        let noise = Tensor.perSampleNoise(seeds: (0..<rows).map { UInt64($0) }, sampleShape: [1, 28, 28])
        var boundary: [Tensor] = []
        _ = Sampler.sample(teacher, noise: noise, labels: labels, guidance: guidance, sigmas: grid.teacher.sigmas) { i, x in
            if i % substeps == 0 { boundary.append(x) }
        }
        var states: [Float] = []
        for r in 0..<rows { for b in boundary { states += b.data[(r * 784)..<((r + 1) * 784)] } }
        return TrajectorySet(segments: segments, labels: labels, guidance: guidance, states: states, sampleShape: [1, 28, 28])
    }

    static func tinyConfig(_ method: DistillMethod, ota: Bool = false, online: Bool = false, adversarial: Bool = false,
                           lambdaAdv: Float = 0.05, lambdaFM: Float = 0.1, fake: AdversarialFake = .step,
                           segments: Int = 2, steps: Int = 3) -> DistillConfig {
        var c = DistillConfig.preset("tiny", method: method, seed: 3)!
        (c.ota, c.online, c.adversarial, c.lambdaAdv, c.lambdaFM, c.advFake) = (ota, online, adversarial, lambdaAdv, lambdaFM, fake)
        c.segments = segments
        c.steps = steps
        c.advWarmup = 1
        // Small enough for a debug build: 2 samples per batch, one teacher sub-step per segment.
        c.batchSize = 2; c.advBatchSize = 2; c.substeps = 1
        c.pairs = 6
        return c
    }

    static func trainer(_ c: DistillConfig, teacher: VelocityModel) throws -> DistillTrainer {
        let bank = c.needsBank ? Self.bank(teacher, segments: c.segments, substeps: c.substeps) : nil
        let data = try DistillData(config: c, teacher: teacher, trajectories: bank, images: c.needsImages ? images() : nil)
        return DistillTrainer(data: data)
    }
}
