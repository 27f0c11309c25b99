import Foundation
import TensorCore

/// Channels x height x width of one image. Every model, bank and sampler takes its shape from here.
public struct ImageGeometry: Codable, Equatable, Hashable, Sendable, CustomStringConvertible {
    public var channels: Int
    public var height: Int
    public var width: Int

    public init(channels: Int, height: Int, width: Int) {
        (self.channels, self.height, self.width) = (channels, height, width)
    }

    /// MNIST and Fashion-MNIST: one channel, 28 x 28.
    public static let mnist = ImageGeometry(channels: 1, height: 28, width: 28)

    /// [C, H, W], the shape of one sample.
    public var sampleShape: [Int] { [channels, height, width] }
    /// Floats per image.
    public var floats: Int { channels * height * width }
    public var description: String { "\(channels)x\(height)x\(width)" }
}

/// A split of a dataset that has splits (IDX pairs, folders with train/ and test/ subfolders).
public enum DatasetSplit: String, Codable, Sendable, CaseIterable {
    case train, test
}

/// What a run, bank or evaluation records about the images it used: enough to find them again
/// (`spec`, `split`) and to know they are the same images (`sha256`, geometry, counts).
public struct DatasetRecord: Codable, Equatable, Sendable {
    public var spec: String
    public var split: DatasetSplit?
    /// The images and labels in their order (training order depends on it).
    public var sha256: String
    /// The same images and labels as a set, whatever their order or file format: what "the same
    /// data" means for choosing a feature network (nil in records made before it existed).
    public var setSHA256: String?
    public var geometry: ImageGeometry
    public var count: Int
    /// 0 for an unlabelled dataset.
    public var classes: Int

    public init(spec: String, split: DatasetSplit?, sha256: String, setSHA256: String?, geometry: ImageGeometry, count: Int, classes: Int) {
        (self.spec, self.split, self.sha256, self.setSHA256) = (spec, split, sha256, setSHA256)
        (self.geometry, self.count, self.classes) = (geometry, count, classes)
    }

    enum CodingKeys: String, CodingKey { case spec, split, sha256, setSHA256 = "set_sha256", geometry, count, classes }

    /// Compact JSON with sorted keys (stable bytes for metadata and hashes).
    public var json: String {
        let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try! enc.encode(self), as: UTF8.self)
    }
}

/// Images in model space, NCHW float32 scaled to [-1, 1] (byte 0 -> -1, 255 -> 1), with labels
/// 0..<classCount or none. Readers (IDX, ImageFolder, EDM zip) produce it; nothing above Datasets
/// knows which format the images came from.
public struct ImageDataset: Sendable {
    public let record: DatasetRecord
    /// [N, C, H, W].
    public let images: Tensor
    /// One label per image, or empty when the dataset is unlabelled.
    public let labels: [Int]
    /// Class names in label order when the format has them (ImageFolder), else empty.
    public let classNames: [String]

    public var geometry: ImageGeometry { record.geometry }
    public var count: Int { record.count }
    public var classCount: Int { record.classes }
    public var isLabelled: Bool { !labels.isEmpty }
    public var split: DatasetSplit? { record.split }

    /// Builds a dataset from raw bytes (NCHW, one byte per channel), checking labels against the
    /// class count, and hashes the content (see `contentHash`). `source` names the file in errors.
    public init(spec: String, split: DatasetSplit?, geometry: ImageGeometry, bytes: [UInt8], labels: [Int]?,
                classes: Int? = nil, classNames: [String] = [], source: String) throws {
        let n = geometry.floats > 0 ? bytes.count / geometry.floats : 0
        guard geometry.floats > 0, n * geometry.floats == bytes.count else {
            throw DatasetError(file: source, problem: "\(bytes.count) pixel bytes is not a whole number of \(geometry) images")
        }
        guard n > 0 else { throw DatasetError(file: source, problem: "no images") }
        var k = 0
        if let labels {
            guard labels.count == n else {
                throw DatasetError(file: source, problem: "\(labels.count) labels for \(n) images")
            }
            k = classes ?? ((labels.max() ?? -1) + 1)
            if let bad = labels.first(where: { $0 < 0 || $0 >= k }) {
                throw DatasetError(file: source, problem: "label \(bad) outside 0...\(k - 1)")
            }
        }
        record = DatasetRecord(spec: spec, split: split, sha256: Self.contentHash(geometry: geometry, bytes: bytes, labels: labels),
                               setSHA256: Self.setHash(geometry: geometry, bytes: bytes, labels: labels),
                               geometry: geometry, count: n, classes: k)
        images = Tensor(shape: [n] + geometry.sampleShape, data: Self.scaledPixels(bytes))
        self.labels = labels ?? []
        self.classNames = classNames
    }

    /// SHA-256 of "flowsteer-dataset-v1 N C H W\n", the pixel bytes in NCHW order, then each label as
    /// a little-endian UInt32 (nothing for an unlabelled set). Same images and labels in the same
    /// order give the same hash whatever file format carried them.
    public static func contentHash(geometry g: ImageGeometry, bytes: [UInt8], labels: [Int]?) -> String {
        var h = SHA256Hasher()
        h.update("flowsteer-dataset-v1 \(bytes.count / max(1, g.floats)) \(g.channels) \(g.height) \(g.width)\n")
        h.update(bytes)
        if let labels {
            var le = [UInt8](); le.reserveCapacity(4 * labels.count)
            for l in labels { withUnsafeBytes(of: UInt32(l).littleEndian) { le.append(contentsOf: $0) } }
            h.update(le)
        }
        return h.finalizeHex()
    }

    /// SHA-256 of "flowsteer-dataset-set-v1 C H W\n" and the sorted SHA-256 digests of every
    /// (label as little-endian UInt32, or nothing; pixel bytes) pair: independent of order.
    public static func setHash(geometry g: ImageGeometry, bytes: [UInt8], labels: [Int]?) -> String {
        let f = g.floats, n = bytes.count / max(1, f)
        var digests = [[UInt8]](repeating: [], count: n)
        bytes.withUnsafeBytes { raw in
            digests.withUnsafeMutableBufferPointer { out in
                let o = out.baseAddress!
                parallelChunks((n + 255) / 256) { _, blocks in
                    for i in (blocks.lowerBound * 256)..<min(n, blocks.upperBound * 256) {
                        var h = SHA256Hasher()
                        if let labels { withUnsafeBytes(of: UInt32(labels[i]).littleEndian) { h.update($0) } }
                        h.update(UnsafeRawBufferPointer(rebasing: raw[(i * f)..<((i + 1) * f)]))
                        o[i] = h.finalize()
                    }
                }
            }
        }
        var h = SHA256Hasher()
        h.update("flowsteer-dataset-set-v1 \(g.channels) \(g.height) \(g.width)\n")
        for d in digests.sorted(by: { $0.lexicographicallyPrecedes($1) }) { h.update(d) }
        return h.finalizeHex()
    }

    /// The images at `indices` as one [B, C, H, W] tensor.
    public func batch(_ indices: [Int]) -> Tensor {
        let f = geometry.floats
        var out = [Float](); out.reserveCapacity(indices.count * f)
        images.data.withUnsafeBufferPointer { p in
            for i in indices { out.append(contentsOf: p[(i * f)..<((i + 1) * f)]) }
        }
        return Tensor(shape: [indices.count] + geometry.sampleShape, data: out)
    }

    /// Bytes 0...255 to floats -1...1 through a 256-entry table (exact: v / 127.5 - 1 in Float), split
    /// over the compute threads because writing 188 MB of floats is a third of MNIST's load time.
    static func scaledPixels(_ bytes: [UInt8]) -> [Float] {
        let count = bytes.count
        let table = (0..<256).map { Float($0) / 127.5 - 1 }
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            bytes.withUnsafeBufferPointer { src in
                table.withUnsafeBufferPointer { t in
                    let (o, s, tab) = (out.baseAddress!, src.baseAddress!, t.baseAddress!)
                    parallelChunks((count + 4095) / 4096) { _, pages in
                        for i in (pages.lowerBound * 4096)..<min(count, pages.upperBound * 4096) {
                            o[i] = tab[Int(s[i])]
                        }
                    }
                }
            }
            initialized = count
        }
    }
}

extension ImageDataset {
    /// A dataset made in memory (tests, generated sets): `images` [N, C, H, W] already in model space.
    /// The hash covers the float bytes, since there are no source bytes.
    public init(spec: String = "memory", split: DatasetSplit? = nil, images: Tensor, labels: [Int], classes: Int? = nil) {
        precondition(images.rank == 4 && (labels.isEmpty || labels.count == images.shape[0]), "ImageDataset: \(images.shape), \(labels.count) labels")
        let g = ImageGeometry(channels: images.shape[1], height: images.shape[2], width: images.shape[3])
        var h = SHA256Hasher()
        h.update("flowsteer-dataset-memory \(images.shape)\n")
        images.data.withUnsafeBytes { h.update($0) }
        h.update(labels.map(String.init).joined(separator: ","))
        record = DatasetRecord(spec: spec, split: split, sha256: h.finalizeHex(), setSHA256: nil, geometry: g, count: images.shape[0],
                               classes: labels.isEmpty ? 0 : (classes ?? ((labels.max() ?? -1) + 1)))
        self.images = images
        self.labels = labels
        self.classNames = []
    }
}
