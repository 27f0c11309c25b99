import Foundation
import TensorCore

/// Image corruptions for the FID sanity ladder (docs/eval.md): applied to real MNIST digits, they
/// must raise FID monotonically with their strength, which shows what a given FID value means.
public enum Corruption: Sendable, Equatable, CustomStringConvertible {
    /// Additive Gaussian noise with standard deviation `sigma` in [0, 1] intensity units (so 2σ in
    /// the model's [-1, 1] space), clamped back to [-1, 1]. Noise of image i comes from
    /// `streamSeed(seed, StreamPurpose.noise, i)`, independent of batching.
    case gaussianNoise(sigma: Float, seed: UInt64)
    /// Separable Gaussian blur with standard deviation `sigma` pixels (kernel radius ⌈3σ⌉, borders
    /// clamped to the edge pixel).
    case gaussianBlur(sigma: Float)

    public var description: String {
        switch self {
        case let .gaussianNoise(s, _): "noise σ=\(s)"
        case let .gaussianBlur(s): "blur σ=\(s)px"
        }
    }

    /// The corrupted copy of images [N, C, H, W].
    public func apply(_ images: Tensor) -> Tensor {
        precondition(images.rank == 4, "Corruption: expected [N, C, H, W], got \(images.shape)")
        switch self {
        case let .gaussianNoise(sigma, seed): return addNoise(images, sigma: sigma, seed: seed)
        case let .gaussianBlur(sigma): return blur(images, sigma: sigma)
        }
    }

    private func addNoise(_ x: Tensor, sigma: Float, seed: UInt64) -> Tensor {
        let n = x.shape[0], inner = x.count / max(1, n)
        var out = x.data
        for i in 0..<n {
            var g = SplitMix64(seed: streamSeed(seed, StreamPurpose.noise, UInt64(i)))
            let z = g.normals(inner)
            for k in 0..<inner {
                out[i * inner + k] = min(1, max(-1, out[i * inner + k] + 2 * sigma * z[k]))
            }
        }
        return Tensor(shape: x.shape, data: out)
    }

    private func blur(_ x: Tensor, sigma: Float) -> Tensor {
        let r = max(1, Int((3 * sigma).rounded(.up)))
        var w = (-r...r).map { expf(-Float($0 * $0) / (2 * sigma * sigma)) }
        let total = w.reduce(0, +)
        w = w.map { $0 / total }
        let (h, wd) = (x.shape[2], x.shape[3])
        let planes = x.count / (h * wd)
        var tmp = [Float](repeating: 0, count: x.count), out = tmp
        for p in 0..<planes {
            let base = p * h * wd
            for i in 0..<h { for j in 0..<wd {
                var s: Float = 0
                for t in -r...r { s += w[t + r] * x.data[base + i * wd + min(wd - 1, max(0, j + t))] }
                tmp[base + i * wd + j] = s
            } }
            for i in 0..<h { for j in 0..<wd {
                var s: Float = 0
                for t in -r...r { s += w[t + r] * tmp[base + min(h - 1, max(0, i + t)) * wd + j] }
                out[base + i * wd + j] = s
            } }
        }
        return Tensor(shape: x.shape, data: out)
    }
}
