import NN
import TensorCore
@testable import Eval

/// The deterministic conv weights of tools/golden/fid_inception_model.py (`rule_conv_weight`), bit
/// for bit: the golden fixture stores only BatchNorm tensors and the 95 MB of conv weights are made
/// here from the same seed.
enum InceptionWeightRule {
    static func fnv1a64(_ text: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        return h
    }

    /// (2u - 1) * sqrt(6 / fan_in) in Double, then Float; u = the top 24 bits of splitmix64's
    /// finalizer of (fnv1a64(key) ^ seed) + (i + 1) * golden ratio.
    static func convWeight(_ spec: InceptionConvSpec, seed: UInt64) -> Tensor {
        let base = fnv1a64("\(spec.name).conv.weight") ^ seed
        let count = spec.weightShape.reduce(1, *), fanIn = spec.cin * spec.kh * spec.kw
        let a = (6.0 / Double(fanIn)).squareRoot()
        let data = (0..<count).map { i -> Float in
            var z = base &+ UInt64(i + 1) &* 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            let u = Double(z >> 40) / Double(1 << 24)
            return Float((2 * u - 1) * a)
        }
        return Tensor(shape: spec.weightShape, data: data)
    }

    /// The full state dict: rule conv weights plus the fixture's BatchNorm tensors.
    static func stateDict(seed: UInt64, batchNorm: StateDict) -> StateDict {
        var sd = StateDict()
        for spec in InceptionV3Layers.convs {
            sd["\(spec.name).conv.weight"] = convWeight(spec, seed: seed)
            for s in InceptionV3Layers.batchNormSuffixes {
                let key = "\(spec.name).bn.\(s)"
                if let t = batchNorm[key] { sd[key] = t }
            }
        }
        return sd
    }
}
