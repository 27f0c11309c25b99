import Foundation
import NN
import TensorCore

/// Standard FID features: pytorch-fid's InceptionV3 pool3 (2048-d) with pytorch-fid's input path, from
/// a weights file the user supplies (pt_inception-2015-12-05 converted to safetensors by
/// tools/golden/convert_fid_inception.py; nothing is downloaded).
///
/// pytorch-fid takes images in [0, 1], resizes them to 299x299 (bilinear, align_corners False) and
/// scales to [-1, 1]. This project's images are already in [-1, 1]; since bilinear weights sum to
/// one, resizing them directly gives the same values up to rounding. Gray images are repeated to
/// three channels first, as pytorch-fid's image loader does with `convert("RGB")`.
public struct InceptionFeatures: Sendable {
    public let network: InceptionV3
    /// SHA-256 (hex) of the used weights' canonical safetensors bytes (F32, PyTorch's key order, no
    /// metadata, `fc.*` dropped): the key of cached reference features, whatever file form they came in.
    public let checksum: String

    public init(weights: StateDict) throws {
        network = try InceptionV3(weights: weights)
        var ordered = StateDict()
        let used = InceptionV3.usedWeights(weights)
        for (key, _) in InceptionV3Layers.parameterShapes { ordered[key] = used[key]! }
        checksum = try FeatureExtractor.checksum(of: ordered)
    }

    /// Reads a safetensors file of pytorch-fid's state dict; a wrong file fails naming the keys it lacks.
    public static func read(path: String) throws -> InceptionFeatures {
        guard FileManager.default.fileExists(atPath: path) else {
            throw EvalError.badFeatureNetwork(reason: "\(path): no such Inception weights file (convert pytorch-fid's "
                                              + "pt_inception-2015-12-05-6726825d.pth with tools/golden/convert_fid_inception.py)")
        }
        let weights = try Safetensors.readStateDict(path: path).0
        do { return try InceptionFeatures(weights: weights) } catch let m as StateDictMismatch {
            throw EvalError.badFeatureNetwork(reason: "\(path) is not pytorch-fid's Inception state dict: \(m.summary(limit: 4))")
        }
    }

    /// Images as the network takes them: [N, 3, 299, 299], gray repeated to three channels, resized.
    public static func prepare(_ images: Tensor) throws -> Tensor {
        guard images.rank == 4, images.shape[1] == 1 || images.shape[1] == 3 else {
            throw EvalError.badShape(what: "images for Inception features", shape: images.shape, expected: "[N, 1 or 3, H, W]")
        }
        var rgb = images
        if images.shape[1] == 1 {
            let (n, plane) = (images.shape[0], images.shape[2] * images.shape[3])
            var data = [Float]()
            data.reserveCapacity(3 * images.count)
            for i in 0..<n {
                let p = images.data[(i * plane)..<((i + 1) * plane)]
                data += p; data += p; data += p
            }
            rgb = Tensor(shape: [n, 3, images.shape[2], images.shape[3]], data: data)
        }
        return InceptionKernels.resizeBilinear(rgb, size: InceptionV3.inputSize)
    }

    /// Pool3 features [N, 2048] of images [N, 1 or 3, H, W] in [-1, 1], `batchSize` images at a time
    /// (each image's result is the same whatever the batch or thread count).
    public func callAsFunction(_ images: Tensor, batchSize: Int = 8) throws -> Tensor {
        guard images.rank == 4, images.shape[1] == 1 || images.shape[1] == 3 else {
            throw EvalError.badShape(what: "images for Inception features", shape: images.shape, expected: "[N, 1 or 3, H, W]")
        }
        guard images.isFinite else { throw EvalError.nonFinite(what: "images") }
        let n = images.shape[0]
        guard n > 0 else { return Tensor(zeros: [0, InceptionV3.featureDimension]) }
        var parts: [Tensor] = []
        for start in stride(from: 0, to: n, by: max(1, batchSize)) {
            let batch = images.slice(start..<min(n, start + max(1, batchSize)))
            parts.append(network(try Self.prepare(batch)))
        }
        return Tensor.stack(rows: parts)
    }
}
