import NN

/// Byte estimates for `MemoryBudget.check`, calibrated on `fs-bench --only train` (peak RSS of UNet
/// [16,32,32] training: 88 MB at batch 32, 265 MB at batch 128, i.e. about 23 floats of activations and
/// gradients per float of the UNet's feature maps per sample); the factors below leave headroom.
public enum MemoryEstimates {
    /// Floats of one sample's UNet feature maps, summed over levels (28x28, 14x14, 7x7, ...).
    public static func featureFloats(_ config: UNetConfig, imageSize: Int) -> Double {
        var side = imageSize, total = 0
        for c in config.channels {
            total += c * side * side
            side = max(1, side / 2)
        }
        return Double(total)
    }

    /// The same unit for any network. A DiT block keeps about 20 D floats per token for its backward plus
    /// the attention weights (T per head), counted twice; divided so that the estimate is 1.7x the peak RSS
    /// of `fs-bench --model dit --only train` (reference workload, batch 64: 1353 MB measured, 2.35 GB estimated).
    public static func featureFloats(_ config: ModelConfig, imageSize: Int) -> Double {
        switch config {
        case .unet(let c): return featureFloats(c, imageSize: imageSize)
        case .dit(let c):
            let t = Double(c.tokens), perToken = 40 * Double(c.hiddenSize) + 2 * t * Double(c.numHeads)
            return t * Double(c.depth) * perToken / 46
        }
    }

    /// Bytes for training on batches of `batch` with `passes` forward/backward networks per sample
    /// (1 for the teacher; fs-distill's student, teacher and discriminator count 3), plus a fixed base
    /// (code, MNIST train images, optimizer moments).
    public static func training(_ config: ModelConfig, batch: Int, passes: Double = 1, imageSize: Int) -> Double {
        Double(batch) * featureFloats(config, imageSize: imageSize) * 4 * 32 * passes + 512 * 1_048_576
    }

    /// Bytes fs-sample keeps for `n` samples of `sampleFloats` floats (C x H x W): noise and
    /// result, the trajectory rows, and the sample set's blob copies.
    public static func sampling(samples n: Int, trajectoryStates: Int = 0, sampleFloats: Int) -> Double {
        let f = Double(sampleFloats)
        return Double(n) * f * 4 * 4 + Double(trajectoryStates) * f * 4 + 256 * 1_048_576
    }

    /// Bytes fs-rollout needs for a batch of `batch` trajectories: K+1 boundary states per sample plus the
    /// solver's working copies, twice (the rows as written).
    public static func rollout(batch: Int, segments k: Int, sampleFloats: Int) -> Double {
        Double(batch) * Double(k + 4) * Double(sampleFloats) * 4 * 2 + 512 * 1_048_576
    }
}
