import Foundation
import TensorCore

/// The two MNIST splits, with their file names and the SHA-256 of the decompressed files
/// (data/mnist/README.md). Checksums are of the IDX bytes, so re-compressing the files is harmless.
public enum MNISTSplit: String, Sendable, CaseIterable {
    case train, test

    var prefix: String { self == .train ? "train" : "t10k" }
    public var imagesFile: String { "\(prefix)-images-idx3-ubyte.gz" }
    public var labelsFile: String { "\(prefix)-labels-idx1-ubyte.gz" }

    var imagesSHA256: String {
        self == .train ? "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"
                       : "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"
    }
    var labelsSHA256: String {
        self == .train ? "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"
                       : "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
    }
    /// Expected number of examples, checked against the IDX headers.
    public var count: Int { self == .train ? 60_000 : 10_000 }
}

/// One MNIST split in model space: images [N, 1, 28, 28] scaled to [-1, 1] (0 -> -1, 255 -> 1) and
/// labels 0...9, in file order.
public struct MNIST: Sendable {
    public let split: MNISTSplit
    public let images: Tensor
    public let labels: [Int]

    public var count: Int { labels.count }

    public init(split: MNISTSplit, images: Tensor, labels: [Int]) {
        self.split = split
        self.images = images
        self.labels = labels
    }

    /// Loads and verifies a split from `directory` (default: `DataDirectory.mnist()`).
    ///
    /// Each file is gunzipped, its decompressed SHA-256 compared with the published value, and its IDX
    /// header checked. Any problem throws a `DatasetError` naming the file.
    public static func load(_ split: MNISTSplit, directory: String? = nil) throws -> MNIST {
        let dir = try directory ?? DataDirectory.mnist()
        let imagesPath = (dir as NSString).appendingPathComponent(split.imagesFile)
        let labelsPath = (dir as NSString).appendingPathComponent(split.labelsFile)

        let imageBytes = try verified(path: imagesPath, sha256: split.imagesSHA256)
        let labelBytes = try verified(path: labelsPath, sha256: split.labelsSHA256)
        let dims = try IDX.header(imageBytes, magic: 2051, rank: 3, path: imagesPath)
        let labelDims = try IDX.header(labelBytes, magic: 2049, rank: 1, path: labelsPath)
        guard dims == [split.count, 28, 28] else {
            throw DatasetError(file: imagesPath, problem: "dimensions \(dims), expected [\(split.count), 28, 28]")
        }
        guard labelDims == [split.count] else {
            throw DatasetError(file: labelsPath, problem: "\(labelDims[0]) labels, expected \(split.count)")
        }

        let n = split.count, pixels = n * 28 * 28
        let images = Tensor(shape: [n, 1, 28, 28], data: scaledPixels(imageBytes, offset: IDX.headerSize(rank: 3), count: pixels))
        let labels = labelBytes[IDX.headerSize(rank: 1)...].map { Int($0) }
        if let bad = labels.first(where: { $0 > 9 }) {
            throw DatasetError(file: labelsPath, problem: "label \(bad) outside 0...9")
        }
        return MNIST(split: split, images: images, labels: labels)
    }

    /// The decompressed bytes of `path`, or an error if they do not hash to `sha256`.
    static func verified(path: String, sha256: String) throws -> [UInt8] {
        let file = try gunzip(path: path)
        guard file.sha256 == sha256 else {
            throw DatasetError(file: path, problem: "SHA-256 mismatch of the decompressed data "
                               + "(\(file.bytes.count) bytes): got \(file.sha256), expected \(sha256)")
        }
        return file.bytes
    }

    /// Bytes 0...255 to floats -1...1 through a 256-entry table (exact: v / 127.5 - 1 in Float), split
    /// over the compute threads because writing 188 MB of floats is a third of the load time.
    static func scaledPixels(_ bytes: [UInt8], offset: Int, count: Int) -> [Float] {
        precondition(offset + count <= bytes.count, "scaledPixels: \(offset)+\(count) beyond \(bytes.count) bytes")
        let table = (0..<256).map { Float($0) / 127.5 - 1 }
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            bytes.withUnsafeBufferPointer { src in
                table.withUnsafeBufferPointer { t in
                    let (o, s, tab) = (out.baseAddress!, src.baseAddress! + offset, t.baseAddress!)
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

/// The IDX header: magic (0x0000 type rank, big-endian), then `rank` big-endian UInt32 dimensions.
enum IDX {
    static func headerSize(rank: Int) -> Int { 4 + 4 * rank }

    /// The dimensions, after checking the magic number and that the payload size matches them exactly.
    static func header(_ bytes: [UInt8], magic: UInt32, rank: Int, path: String) throws -> [Int] {
        func be32(_ at: Int) -> UInt32 {
            UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3])
        }
        let size = headerSize(rank: rank)
        guard bytes.count >= size else {
            throw DatasetError(file: path, problem: "only \(bytes.count) bytes, shorter than the IDX header")
        }
        guard be32(0) == magic else {
            throw DatasetError(file: path, problem: "IDX magic \(be32(0)), expected \(magic)")
        }
        let dims = (0..<rank).map { Int(be32(4 + 4 * $0)) }
        let payload = dims.reduce(1, *)
        guard bytes.count == size + payload else {
            throw DatasetError(file: path, problem: "\(bytes.count - size) data bytes, header says \(payload)")
        }
        return dims
    }
}
