import NN
import TensorCore

/// The evaluation feature network: a small CNN digit classifier whose penultimate layer (128 ReLU
/// units) gives the features FID/KID compare and whose logits give class predictions.
///
/// Why a purpose-built MNIST classifier instead of Inception: 28×28 grayscale digits are far from
/// ImageNet, there is no canonical MNIST FID network (docs/eval.md), and this one trains with the
/// project's own engine and runs 10k images in seconds. Numbers are only comparable between runs that
/// use the same weights, which is why statistics are keyed by the weights' checksum.
///
/// PyTorch equivalent (parameter names and layouts match, so weights move by name):
///
///     conv1 = nn.Conv2d(1, 32, 3, padding=1);  conv2 = nn.Conv2d(32, 64, 3, stride=2, padding=1)
///     conv3 = nn.Conv2d(64, 64, 3, stride=2, padding=1)
///     fc1 = nn.Linear(64 * 7 * 7, 128);  fc2 = nn.Linear(128, 10)
///     h = relu(conv3(relu(conv2(relu(conv1(x))))));  features = relu(fc1(h.flatten(1)));  logits = fc2(features)
///
/// Input: [N, C, H, W] in [-1, 1] (the project's pixel convention), no further normalisation. The
/// default configuration (1 x 28 x 28, 10 classes) is the embedded MNIST network's; other datasets get
/// their own network of the same shape family (`fs-eval featnet train --data`), where fc1's input is
/// 64 x ceil(H/4) x ceil(W/4).
public struct FeatureNetwork: Layer, Sendable {
    /// Width of the feature layer.
    public static let featureDimension = 128

    public let config: FeatureNetworkConfig
    let conv1: Conv2d, conv2: Conv2d, conv3: Conv2d, fc1: Linear, fc2: Linear

    public init(_ config: FeatureNetworkConfig = .mnist) {
        self.config = config
        conv1 = Conv2d("conv1", config.inChannels, 32, kernel: 3)
        conv2 = Conv2d("conv2", 32, 64, kernel: 3, stride: 2)
        conv3 = Conv2d("conv3", 64, 64, kernel: 3, stride: 2)
        fc1 = Linear("fc1", config.flattened, Self.featureDimension)
        fc2 = Linear("fc2", Self.featureDimension, config.classes)
    }

    public var parameterSpecs: [ParameterSpec] {
        conv1.parameterSpecs + conv2.parameterSpecs + conv3.parameterSpecs + fc1.parameterSpecs + fc2.parameterSpecs
    }

    /// Features [N, 128] (after the ReLU) and logits [N, classes] of images [N, C, H, W].
    public func callAsFunction(_ x: Var, _ p: Parameters) -> (features: Var, logits: Var) {
        precondition(x.shape.count == 4 && Array(x.shape.dropFirst()) == config.inputShape,
                     "FeatureNetwork: expected [N, \(config.inputShape)], got \(x.shape)")
        var h = relu(conv1(x, p))
        h = relu(conv2(h, p))
        h = relu(conv3(h, p))
        h = reshape(h, [x.shape[0], config.flattened])
        let features = relu(fc1(h, p))
        return (features, fc2(features, p))
    }
}

/// The input geometry and class count a feature network is built for. JSON keys follow PyTorch
/// constructor style so the config can sit in a safetensors file's metadata.
public struct FeatureNetworkConfig: Codable, Equatable, Hashable, Sendable {
    public var inChannels: Int
    public var height: Int
    public var width: Int
    public var classes: Int

    public init(inChannels: Int, height: Int, width: Int, classes: Int) {
        (self.inChannels, self.height, self.width, self.classes) = (inChannels, height, width, classes)
    }

    /// The embedded network's: MNIST digits.
    public static let mnist = FeatureNetworkConfig(inChannels: 1, height: 28, width: 28, classes: 10)

    enum CodingKeys: String, CodingKey { case inChannels = "in_channels", height, width, classes = "num_classes" }

    public var inputShape: [Int] { [inChannels, height, width] }
    /// Two stride-2, padding-1, 3x3 convolutions: each maps n to (n + 1) / 2.
    var flattened: Int {
        func quarter(_ n: Int) -> Int { ((n + 1) / 2 + 1) / 2 }
        return 64 * quarter(height) * quarter(width)
    }
}
