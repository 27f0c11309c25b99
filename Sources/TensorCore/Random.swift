/// SplitMix64: a tiny, fast, seedable generator (Steele, Lea, Flood 2014), as in swift-argument-parser's
/// example. Floats are built from raw bits here, so values depend on no standard-library internals.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) from the top 24 bits.
    public mutating func uniform() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Uniform in (0, 1]: safe to take the logarithm of.
    public mutating func uniformOpen() -> Float {
        Float((next() >> 40) + 1) * (1.0 / 16_777_216.0)
    }

    /// Standard normal by Box-Muller (both values of a pair are used, in order).
    public mutating func normals(_ n: Int) -> [Float] {
        var out = [Float](repeating: 0, count: n)
        var i = 0
        while i < n {
            let u1 = Double(uniformOpen()), u2 = Double(uniform())
            let r = (-2 * _log(u1)).squareRoot(), a = 2 * Double.pi * u2
            out[i] = Float(r * _cos(a)); i += 1
            if i < n { out[i] = Float(r * _sin(a)); i += 1 }
        }
        return out
    }

    /// An integer uniform in 0..<n.
    public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// Derives independent stream seeds: `streamSeed(base, purpose, index)` mixes its inputs through
/// SplitMix64 so that sample i's stream is a pure function of (seed, purpose, i), independent of
/// batch size, shard or thread count.
public func streamSeed(_ base: UInt64, _ purpose: UInt64, _ index: UInt64 = 0) -> UInt64 {
    var g = SplitMix64(seed: base ^ 0x6A09_E667_F3BC_C909)
    var h = g.next() ^ (purpose &* 0xD6E8_FEB8_6659_FD93)
    g = SplitMix64(seed: h); h = g.next() ^ (index &* 0x9E37_79B9_7F4A_7C15)
    g = SplitMix64(seed: h)
    return g.next()
}

/// Purposes for `streamSeed`, so two uses of one seed never share a stream.
public enum StreamPurpose {
    public static let noise: UInt64 = 1          // initial noise of a sample (sampling, rollouts, eval)
    public static let trainBatch: UInt64 = 2     // per-step training draws
    public static let labelDrop: UInt64 = 3
    public static let guidance: UInt64 = 4       // per-sample CFG scale in rollouts
    public static let init_: UInt64 = 5          // parameter initialisation
    public static let distill: UInt64 = 6
    public static let discriminator: UInt64 = 7
    public static let data: UInt64 = 8           // data order / shuffling
}

import Foundation
@inline(__always) private func _log(_ x: Double) -> Double { Foundation.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Foundation.cos(x) }
@inline(__always) private func _sin(_ x: Double) -> Double { Foundation.sin(x) }

extension Tensor {
    /// Standard normal noise, one stream per sample: row i is drawn from `streamSeed(seeds[i], purpose)`,
    /// so a sample's noise depends only on its own seed.
    public static func perSampleNoise(seeds: [UInt64], sampleShape: [Int],
                                      purpose: UInt64 = StreamPurpose.noise) -> Tensor {
        let inner = sampleShape.reduce(1, *)
        var data = [Float](); data.reserveCapacity(seeds.count * inner)
        for s in seeds {
            var g = SplitMix64(seed: streamSeed(s, purpose))
            data += g.normals(inner)
        }
        return Tensor(shape: [seeds.count] + sampleShape, data: data)
    }
}
