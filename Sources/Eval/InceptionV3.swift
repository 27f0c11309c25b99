import NN
import TensorCore

/// pytorch-fid's InceptionV3 up to pool3 (2048 features), inference only: torchvision's Inception3
/// stem, the FID variants of blocks A, C and E (average pooling that does not count padding; a max
/// pool in the last E block), and blocks B and D as torchvision has them. Each BatchNorm (eps 0.001)
/// is folded into its convolution when the weights are loaded.
///
/// Input: images [N, 3, 299, 299] already in [-1, 1]; `InceptionFeatures` does pytorch-fid's
/// resizing and scaling in front of it.
public struct InceptionV3: Sendable {
    /// A convolution with its BatchNorm folded in: ReLU(conv(x, weight) + bias).
    struct FoldedConv: Sendable {
        let spec: InceptionConvSpec
        let weight: Tensor
        let bias: [Float]
    }

    public static let featureDimension = 2048
    public static let inputSize = 299
    /// BatchNorm epsilon of torchvision's BasicConv2d.
    public static let batchNormEpsilon = 0.001

    private let convs: [String: FoldedConv]

    /// Folds `weights` (pytorch-fid's state-dict names, see `InceptionV3Layers`). Throws
    /// `StateDictMismatch` naming every missing, unexpected or mis-shaped key; pytorch-fid's `fc.*` and
    /// `num_batches_tracked` entries are ignored.
    public init(weights: StateDict) throws {
        try Self.usedWeights(weights).validate(against: InceptionV3Layers.parameterShapes)
        var convs: [String: FoldedConv] = [:]
        for spec in InceptionV3Layers.convs {
            func t(_ suffix: String) -> [Float] { weights.tensor("\(spec.name).\(suffix)").data }
            let w = t("conv.weight"), gamma = t("bn.weight"), beta = t("bn.bias")
            let mean = t("bn.running_mean"), variance = t("bn.running_var")
            let per = w.count / spec.cout
            var folded = [Float](repeating: 0, count: w.count), bias = [Float](repeating: 0, count: spec.cout)
            for co in 0..<spec.cout {
                let scale = Double(gamma[co]) / (Double(variance[co]) + Self.batchNormEpsilon).squareRoot()
                for i in 0..<per { folded[co * per + i] = Float(Double(w[co * per + i]) * scale) }
                bias[co] = Float(Double(beta[co]) - Double(mean[co]) * scale)
            }
            convs[spec.name] = FoldedConv(spec: spec, weight: Tensor(shape: spec.weightShape, data: folded), bias: bias)
        }
        self.convs = convs
    }

    /// The entries of `weights` the network reads (those `InceptionV3Layers.isIgnored` drops removed).
    public static func usedWeights(_ weights: StateDict) -> StateDict {
        var used = StateDict()
        for (k, v) in weights.items where !InceptionV3Layers.isIgnored(k) { used[k] = v }
        return used
    }

    /// Pool3 features [N, 2048] of images [N, 3, 299, 299] in [-1, 1].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4 && Array(x.shape.dropFirst()) == [3, Self.inputSize, Self.inputSize],
                     "InceptionV3: input \(x.shape), expected [N, 3, 299, 299]")
        var y = conv("Conv2d_1a_3x3", x)
        y = conv("Conv2d_2a_3x3", y)
        y = conv("Conv2d_2b_3x3", y)
        y = InceptionKernels.maxPool(y, k: 3, stride: 2, pad: 0)
        y = conv("Conv2d_3b_1x1", y)
        y = conv("Conv2d_4a_3x3", y)
        y = InceptionKernels.maxPool(y, k: 3, stride: 2, pad: 0)
        for block in ["Mixed_5b", "Mixed_5c", "Mixed_5d"] { y = blockA(block, y) }
        y = blockB("Mixed_6a", y)
        for block in ["Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"] { y = blockC(block, y) }
        y = blockD("Mixed_7a", y)
        y = blockE("Mixed_7b", y, maxPoolBranch: false)
        y = blockE("Mixed_7c", y, maxPoolBranch: true)
        return InceptionKernels.globalAveragePool(y)
    }

    private func conv(_ name: String, _ x: Tensor) -> Tensor {
        let c = convs[name]!, s = c.spec
        if s.kh == s.kw && s.padH == s.padW {
            var y = conv2dForward(x, c.weight, Tensor(shape: [s.cout], data: c.bias), stride: s.stride, pad: s.padH)
            y.data.withUnsafeMutableBufferPointer { p in for i in p.indices { p[i] = max(0, p[i]) } }
            return y
        }
        return InceptionKernels.conv(x, weight: c.weight, bias: c.bias, stride: s.stride, padH: s.padH, padW: s.padW)
    }

    /// FIDInceptionA: 1x1 | 1x1 -> 5x5 | 1x1 -> 3x3 -> 3x3 | avg pool (padding not counted) -> 1x1.
    private func blockA(_ b: String, _ x: Tensor) -> Tensor {
        let b1 = conv("\(b).branch1x1", x)
        let b5 = conv("\(b).branch5x5_2", conv("\(b).branch5x5_1", x))
        let b3 = conv("\(b).branch3x3dbl_3", conv("\(b).branch3x3dbl_2", conv("\(b).branch3x3dbl_1", x)))
        let bp = conv("\(b).branch_pool", InceptionKernels.avgPoolExcludingPad(x, k: 3, stride: 1, pad: 1))
        return InceptionKernels.concatChannels([b1, b5, b3, bp])
    }

    /// InceptionB (grid reduction 35 -> 17): 3x3/2 | 1x1 -> 3x3 -> 3x3/2 | max pool 3/2.
    private func blockB(_ b: String, _ x: Tensor) -> Tensor {
        let b3 = conv("\(b).branch3x3", x)
        let bd = conv("\(b).branch3x3dbl_3", conv("\(b).branch3x3dbl_2", conv("\(b).branch3x3dbl_1", x)))
        return InceptionKernels.concatChannels([b3, bd, InceptionKernels.maxPool(x, k: 3, stride: 2, pad: 0)])
    }

    /// FIDInceptionC: 1x1 | 1x1 -> 1x7 -> 7x1 | 1x1 -> 7x1 -> 1x7 -> 7x1 -> 1x7 | avg pool -> 1x1.
    private func blockC(_ b: String, _ x: Tensor) -> Tensor {
        let b1 = conv("\(b).branch1x1", x)
        var b7 = x
        for i in 1...3 { b7 = conv("\(b).branch7x7_\(i)", b7) }
        var bd = x
        for i in 1...5 { bd = conv("\(b).branch7x7dbl_\(i)", bd) }
        let bp = conv("\(b).branch_pool", InceptionKernels.avgPoolExcludingPad(x, k: 3, stride: 1, pad: 1))
        return InceptionKernels.concatChannels([b1, b7, bd, bp])
    }

    /// InceptionD (grid reduction 17 -> 8): 1x1 -> 3x3/2 | 1x1 -> 1x7 -> 7x1 -> 3x3/2 | max pool 3/2.
    private func blockD(_ b: String, _ x: Tensor) -> Tensor {
        let b3 = conv("\(b).branch3x3_2", conv("\(b).branch3x3_1", x))
        var b7 = x
        for i in 1...4 { b7 = conv("\(b).branch7x7x3_\(i)", b7) }
        return InceptionKernels.concatChannels([b3, b7, InceptionKernels.maxPool(x, k: 3, stride: 2, pad: 0)])
    }

    /// FIDInceptionE_1 / E_2: 1x1 | 1x1 -> (1x3, 3x1) | 1x1 -> 3x3 -> (1x3, 3x1) | pool -> 1x1, where
    /// the pool is an average not counting padding (E_1) or a 3x3 max pool (E_2, as in the TF graph).
    private func blockE(_ b: String, _ x: Tensor, maxPoolBranch: Bool) -> Tensor {
        let b1 = conv("\(b).branch1x1", x)
        let t = conv("\(b).branch3x3_1", x)
        let d = conv("\(b).branch3x3dbl_2", conv("\(b).branch3x3dbl_1", x))
        let pooled = maxPoolBranch ? InceptionKernels.maxPool(x, k: 3, stride: 1, pad: 1)
            : InceptionKernels.avgPoolExcludingPad(x, k: 3, stride: 1, pad: 1)
        return InceptionKernels.concatChannels([
            b1, conv("\(b).branch3x3_2a", t), conv("\(b).branch3x3_2b", t),
            conv("\(b).branch3x3dbl_3a", d), conv("\(b).branch3x3dbl_3b", d), conv("\(b).branch_pool", pooled),
        ])
    }
}
