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
/// Input: [N, 1, 28, 28] in [-1, 1] (the project's pixel convention), no further normalisation.
public struct FeatureNetwork: Layer, Sendable {
    /// Width of the feature layer.
    public static let featureDimension = 128
    /// Number of classes (digits 0...9).
    public static let classCount = 10

    let conv1 = Conv2d("conv1", 1, 32, kernel: 3)
    let conv2 = Conv2d("conv2", 32, 64, kernel: 3, stride: 2)
    let conv3 = Conv2d("conv3", 64, 64, kernel: 3, stride: 2)
    let fc1 = Linear("fc1", 64 * 7 * 7, featureDimension)
    let fc2 = Linear("fc2", featureDimension, classCount)

    public init() {}

    public var parameterSpecs: [ParameterSpec] {
        conv1.parameterSpecs + conv2.parameterSpecs + conv3.parameterSpecs + fc1.parameterSpecs + fc2.parameterSpecs
    }

    /// Features [N, 128] (after the ReLU) and logits [N, 10] of images [N, 1, 28, 28].
    public func callAsFunction(_ x: Var, _ p: Parameters) -> (features: Var, logits: Var) {
        precondition(x.shape.count == 4 && Array(x.shape.dropFirst()) == [1, 28, 28],
                     "FeatureNetwork: expected [N, 1, 28, 28], got \(x.shape)")
        var h = relu(conv1(x, p))
        h = relu(conv2(h, p))
        h = relu(conv3(h, p))
        h = reshape(h, [x.shape[0], 64 * 7 * 7])
        let features = relu(fc1(h, p))
        return (features, fc2(features, p))
    }
}
