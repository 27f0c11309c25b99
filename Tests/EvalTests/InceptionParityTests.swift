import Foundation
import NN
import Testing
import TensorCore
@testable import Eval

/// The Swift InceptionV3 against pytorch-fid's own code (tools/golden/inception_fixture.py) on the same
/// random weights: conv weights from `InceptionWeightRule`, BatchNorm statistics calibrated on images
/// in PyTorch and stored in the fixture with 16 inputs and their pool3 features.
@Suite(.serialized) struct InceptionParityTests {
    struct Fixture {
        let features: InceptionFeatures
        let gray, rgb, expected: Tensor
    }

    static let fixture: Fixture = {
        let url = Bundle.module.url(forResource: "inception_fixture", withExtension: "safetensors", subdirectory: "Fixtures")!
        let (sd, meta) = try! Safetensors.readStateDict(path: url.path)
        let seed = UInt64(meta.first { $0.key == "seed" }!.value)!
        let weights = InceptionWeightRule.stateDict(seed: seed, batchNorm: sd)
        // pytorch-fid takes [0, 1]; this project's images are [-1, 1].
        let toModel: (Tensor) -> Tensor = { t in Tensor(shape: t.shape, data: t.data.map { 2 * $0 - 1 }) }
        return Fixture(features: try! InceptionFeatures(weights: weights), gray: toModel(sd.tensor("inputs_gray")),
                       rgb: toModel(sd.tensor("inputs_rgb")), expected: sd.tensor("features"))
    }()

    /// Largest per-image relative L2 distance between feature rows.
    static func relativeError(_ a: Tensor, _ b: Tensor) -> Double {
        let d = b.shape[1]
        return (0..<b.shape[0]).map { i in
            var num = 0.0, den = 0.0
            for j in 0..<d {
                let x = Double(a.data[i * d + j]), y = Double(b.data[i * d + j])
                num += (x - y) * (x - y); den += y * y
            }
            return (num / den).squareRoot()
        }.max()!
    }

    @Test func poolFeaturesMatchPytorchFid() throws {
        let f = Self.fixture
        ComputeThreads.set(ComputeThreads.defaultCount)
        defer { ComputeThreads.set(1) }
        var got = Tensor(zeros: [0])
        let t0 = Date()
        got = Tensor.stack(rows: [try f.features(f.gray), try f.features(f.rgb)])
        let seconds = Date().timeIntervalSince(t0)
        #expect(got.shape == [16, 2048])
        let err = Self.relativeError(got, f.expected)
        print(String(format: "InceptionParity: max relative L2 error %.2e over 16 images (%.1f img/s, %d threads)",
                     err, 16 / seconds, ComputeThreads.count))
        #expect(err < 1e-4)
        // The features depend on the image: two different inputs are far apart.
        #expect(Self.relativeError(f.expected.slice(0..<1), f.expected.slice(1..<2)) > 0.05)
    }

    /// A parity test that cannot fail proves nothing: pytorch-fid's input path with one step wrong
    /// (images left in [0, 1]; nearest instead of bilinear resizing) must miss by far.
    @Test func wrongInputPathsFail() throws {
        let f = Self.fixture
        ComputeThreads.set(ComputeThreads.defaultCount)
        defer { ComputeThreads.set(1) }
        let gray = f.gray.slice(0..<3), expected = f.expected.slice(0..<3)
        let unscaled = Tensor(shape: gray.shape, data: gray.data.map { ($0 + 1) / 2 })
        let errUnscaled = Self.relativeError(try f.features(unscaled), expected)
        // PyTorch's "nearest": source index floor(dst * in / out).
        let (h, s) = (gray.shape[2], InceptionV3.inputSize)
        var near = [Float]()
        for i in 0..<3 {
            for y in 0..<s { for x in 0..<s { near.append(gray.data[i * h * h + (y * h / s) * h + x * h / s]) } }
        }
        let errNearest = Self.relativeError(try f.features(Tensor(shape: [3, 1, s, s], data: near)), expected)
        print(String(format: "InceptionParity: wrong paths: no [-1,1] scaling %.3f, nearest resize %.3f", errUnscaled, errNearest))
        #expect(errUnscaled > 0.05)
        #expect(errNearest > 0.05)
    }

    @Test func featuresDoNotDependOnThreadsOrBatch() throws {
        let f = Self.fixture, x = f.rgb.slice(0..<3)
        ComputeThreads.set(1)
        let one = try f.features(x, batchSize: 3)
        ComputeThreads.set(2)
        defer { ComputeThreads.set(1) }
        let two = try f.features(x, batchSize: 2)
        #expect(one == two)
    }

    @Test func wrongWeightsNameTheirKeys() throws {
        var sd = InceptionWeightRule.stateDict(seed: 1, batchNorm: StateDict())
        for spec in InceptionV3Layers.convs {
            for s in InceptionV3Layers.batchNormSuffixes { sd["\(spec.name).bn.\(s)"] = Tensor(repeating: 1, shape: [spec.cout]) }
        }
        // pytorch-fid's classifier is accepted and ignored.
        sd["fc.weight"] = Tensor(zeros: [1008, 2048])
        let checksum = try InceptionFeatures(weights: sd).checksum
        sd["fc.weight"] = nil
        #expect(try InceptionFeatures(weights: sd).checksum == checksum)
        sd["Mixed_6b.branch7x7_2.bn.running_var"] = nil
        sd["Mixed_7c.branch_pool.conv.weight"] = Tensor(zeros: [192, 2048, 3, 3])
        #expect {
            try InceptionV3(weights: sd)
        } throws: { error in
            let text = "\(error)"
            return text.contains("Mixed_6b.branch7x7_2.bn.running_var") && text.contains("Mixed_7c.branch_pool.conv.weight")
        }
    }

    @Test func badImagesAreRejected() throws {
        let f = Self.fixture
        #expect(throws: EvalError.self) { try f.features(Tensor(zeros: [2, 2, 28, 28])) }
        #expect(throws: EvalError.self) { try f.features(Tensor(repeating: .nan, shape: [1, 1, 28, 28])) }
    }
}
