/// The convolutions of pytorch-fid's InceptionV3 (torchvision's Inception3 with the FID blocks), under
/// torchvision's state-dict names: each `NAME` is a BasicConv2d with `NAME.conv.weight` (no bias) and
/// `NAME.bn.{weight, bias, running_mean, running_var}` (BatchNorm, eps 0.001), followed by ReLU.
public struct InceptionConvSpec: Sendable, Equatable {
    public let name: String
    public let cin, cout, kh, kw, stride, padH, padW: Int

    /// Shape of `NAME.conv.weight`.
    public var weightShape: [Int] { [cout, cin, kh, kw] }
}

public enum InceptionV3Layers {
    /// Every convolution, in the order pytorch-fid's forward pass runs them.
    public static let convs: [InceptionConvSpec] = {
        var out: [InceptionConvSpec] = []
        func c(_ name: String, _ cin: Int, _ cout: Int, _ k: (Int, Int), stride: Int = 1, pad: (Int, Int) = (0, 0)) {
            out.append(InceptionConvSpec(name: name, cin: cin, cout: cout, kh: k.0, kw: k.1, stride: stride, padH: pad.0, padW: pad.1))
        }
        c("Conv2d_1a_3x3", 3, 32, (3, 3), stride: 2)
        c("Conv2d_2a_3x3", 32, 32, (3, 3))
        c("Conv2d_2b_3x3", 32, 64, (3, 3), pad: (1, 1))
        c("Conv2d_3b_1x1", 64, 80, (1, 1))
        c("Conv2d_4a_3x3", 80, 192, (3, 3))
        for (block, cin, poolFeatures) in [("Mixed_5b", 192, 32), ("Mixed_5c", 256, 64), ("Mixed_5d", 288, 64)] {
            c("\(block).branch1x1", cin, 64, (1, 1))
            c("\(block).branch5x5_1", cin, 48, (1, 1))
            c("\(block).branch5x5_2", 48, 64, (5, 5), pad: (2, 2))
            c("\(block).branch3x3dbl_1", cin, 64, (1, 1))
            c("\(block).branch3x3dbl_2", 64, 96, (3, 3), pad: (1, 1))
            c("\(block).branch3x3dbl_3", 96, 96, (3, 3), pad: (1, 1))
            c("\(block).branch_pool", cin, poolFeatures, (1, 1))
        }
        c("Mixed_6a.branch3x3", 288, 384, (3, 3), stride: 2)
        c("Mixed_6a.branch3x3dbl_1", 288, 64, (1, 1))
        c("Mixed_6a.branch3x3dbl_2", 64, 96, (3, 3), pad: (1, 1))
        c("Mixed_6a.branch3x3dbl_3", 96, 96, (3, 3), stride: 2)
        for (block, c7) in [("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192)] {
            c("\(block).branch1x1", 768, 192, (1, 1))
            c("\(block).branch7x7_1", 768, c7, (1, 1))
            c("\(block).branch7x7_2", c7, c7, (1, 7), pad: (0, 3))
            c("\(block).branch7x7_3", c7, 192, (7, 1), pad: (3, 0))
            c("\(block).branch7x7dbl_1", 768, c7, (1, 1))
            c("\(block).branch7x7dbl_2", c7, c7, (7, 1), pad: (3, 0))
            c("\(block).branch7x7dbl_3", c7, c7, (1, 7), pad: (0, 3))
            c("\(block).branch7x7dbl_4", c7, c7, (7, 1), pad: (3, 0))
            c("\(block).branch7x7dbl_5", c7, 192, (1, 7), pad: (0, 3))
            c("\(block).branch_pool", 768, 192, (1, 1))
        }
        c("Mixed_7a.branch3x3_1", 768, 192, (1, 1))
        c("Mixed_7a.branch3x3_2", 192, 320, (3, 3), stride: 2)
        c("Mixed_7a.branch7x7x3_1", 768, 192, (1, 1))
        c("Mixed_7a.branch7x7x3_2", 192, 192, (1, 7), pad: (0, 3))
        c("Mixed_7a.branch7x7x3_3", 192, 192, (7, 1), pad: (3, 0))
        c("Mixed_7a.branch7x7x3_4", 192, 192, (3, 3), stride: 2)
        for (block, cin) in [("Mixed_7b", 1280), ("Mixed_7c", 2048)] {
            c("\(block).branch1x1", cin, 320, (1, 1))
            c("\(block).branch3x3_1", cin, 384, (1, 1))
            c("\(block).branch3x3_2a", 384, 384, (1, 3), pad: (0, 1))
            c("\(block).branch3x3_2b", 384, 384, (3, 1), pad: (1, 0))
            c("\(block).branch3x3dbl_1", cin, 448, (1, 1))
            c("\(block).branch3x3dbl_2", 448, 384, (3, 3), pad: (1, 1))
            c("\(block).branch3x3dbl_3a", 384, 384, (1, 3), pad: (0, 1))
            c("\(block).branch3x3dbl_3b", 384, 384, (3, 1), pad: (1, 0))
            c("\(block).branch_pool", cin, 192, (1, 1))
        }
        return out
    }()

    /// The BatchNorm tensors of each BasicConv2d.
    public static let batchNormSuffixes = ["weight", "bias", "running_mean", "running_var"]

    /// Every key the feature extractor needs and its shape (pytorch-fid's state dict without `fc.*`
    /// and `num_batches_tracked`), in the forward order.
    public static let parameterShapes: [(key: String, shape: [Int])] = convs.flatMap { c in
        [("\(c.name).conv.weight", c.weightShape)] + batchNormSuffixes.map { ("\(c.name).bn.\($0)", [c.cout]) }
    }

    /// Keys pytorch-fid's file holds that pool3 features do not use (the ImageNet classifier and
    /// BatchNorm's step counters): accepted and ignored.
    public static func isIgnored(_ key: String) -> Bool {
        key.hasPrefix("fc.") || key.hasSuffix(".num_batches_tracked")
    }
}
