import Foundation
import TensorCore

/// A dataset stored as an IDX image/label pair (`PREFIX-images-idx3-ubyte[.gz]`,
/// `PREFIX-labels-idx1-ubyte[.gz]`), the format of MNIST and Fashion-MNIST. Images are rank-3
/// (N, H, W), one channel. Gzip is detected by name; checksums are of the decompressed bytes.
public enum IDXDataset {
    /// The two files of a split, as named by MNIST's convention.
    public static func fileNames(_ split: DatasetSplit) -> (images: String, labels: String) {
        let prefix = split == .train ? "train" : "t10k"
        return ("\(prefix)-images-idx3-ubyte.gz", "\(prefix)-labels-idx1-ubyte.gz")
    }

    /// Loads `imagesPath` (and `labelsPath` when given: without it the set is unlabelled). When
    /// `expected` is given the decompressed files must hash to it and hold exactly its count.
    public static func load(spec: String, split: DatasetSplit?, imagesPath: String, labelsPath: String?,
                            expected: KnownIDX.Checksums? = nil, classes: Int? = nil) throws -> ImageDataset {
        let imageBytes = try contents(imagesPath, sha256: expected?.images)
        let dims = try header(imageBytes, magic: 2051, rank: 3, path: imagesPath)
        if let expected, dims[0] != expected.count {
            throw DatasetError(file: imagesPath, problem: "\(dims[0]) images, expected \(expected.count)")
        }
        var labels: [Int]?
        if let labelsPath {
            let labelBytes = try contents(labelsPath, sha256: expected?.labels)
            let labelDims = try header(labelBytes, magic: 2049, rank: 1, path: labelsPath)
            guard labelDims == [dims[0]] else {
                throw DatasetError(file: labelsPath, problem: "\(labelDims[0]) labels for \(dims[0]) images in \(imagesPath)")
            }
            labels = labelBytes[headerSize(rank: 1)...].map { Int($0) }
            if let classes, let bad = labels!.first(where: { $0 >= classes }) {
                throw DatasetError(file: labelsPath, problem: "label \(bad) outside 0...\(classes - 1)")
            }
        }
        return try ImageDataset(spec: spec, split: split, geometry: ImageGeometry(channels: 1, height: dims[1], width: dims[2]),
                                bytes: Array(imageBytes[headerSize(rank: 3)...]), labels: labels, classes: classes,
                                source: labelsPath ?? imagesPath)
    }

    /// The (decompressed) bytes of `path`, checked against `sha256` when given.
    static func contents(_ path: String, sha256: String?) throws -> [UInt8] {
        let bytes: [UInt8], digest: String
        if path.hasSuffix(".gz") {
            let file = try gunzip(path: path)
            (bytes, digest) = (file.bytes, file.sha256)
        } else {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw DatasetError(file: path, problem: "file not found or unreadable")
            }
            bytes = [UInt8](data)
            digest = sha256 == nil ? "" : SHA256.hex(bytes)
        }
        if let sha256, digest != sha256 {
            throw DatasetError(file: path, problem: "SHA-256 mismatch of the decompressed data "
                               + "(\(bytes.count) bytes): got \(digest), expected \(sha256)")
        }
        return bytes
    }

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

/// The IDX datasets the toolkit knows by name, with the SHA-256 of their decompressed files (so a
/// re-compressed copy, such as Debian's, still verifies) and where to find them.
public enum KnownIDX: String, Sendable, CaseIterable {
    case mnist
    case fashionMNIST = "fashion-mnist"

    public struct Checksums: Sendable { public let images: String, labels: String, count: Int }

    public func checksums(_ split: DatasetSplit) -> Checksums {
        switch (self, split) {
        case (.mnist, .train):
            return Checksums(images: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
                             labels: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", count: 60_000)
        case (.mnist, .test):
            return Checksums(images: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
                             labels: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", count: 10_000)
        case (.fashionMNIST, .train):
            return Checksums(images: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                             labels: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9", count: 60_000)
        case (.fashionMNIST, .test):
            return Checksums(images: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                             labels: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34", count: 10_000)
        }
    }

    /// `DatasetRecord.setSHA256` of each split (measured with `fs-data info`): the same images in any
    /// format or order hash to these, which is how a folder or zip copy finds the dataset's network.
    public func setSHA256(_ split: DatasetSplit) -> String {
        switch (self, split) {
        case (.mnist, .train): return "e839ac1e1608f505f307962f46cc77a5a68f337eaedb937445203543af776422"
        case (.mnist, .test): return "33e484ab4adb584f375947aaac5dfae6a0fecd6fd5fc052b38e3792aa219270f"
        case (.fashionMNIST, .train): return "21bb96559bbc0d52b1e8eb4d4413df587e06743e5a14d493b370d35bbe6280cc"
        case (.fashionMNIST, .test): return "3d4b183aea1c6c2eefb7e903cc26a1ae548a98778d79a4778bfc20bf58fd6f54"
        }
    }

    /// The known dataset `record` holds (by name, or by its images whatever their format), if any.
    public static func identify(_ record: DatasetRecord) -> KnownIDX? {
        if let k = KnownIDX(rawValue: record.spec), record.geometry == .mnist { return k }
        guard let set = record.setSHA256 else { return nil }
        return allCases.first { k in DatasetSplit.allCases.contains { k.setSHA256($0) == set } }
    }

    /// Loads and verifies a split from `directory` (default: `DataDirectory.locate(self)`).
    public func load(_ split: DatasetSplit, directory: String? = nil) throws -> ImageDataset {
        let dir = try directory ?? DataDirectory.locate(self)
        let names = IDXDataset.fileNames(split)
        return try IDXDataset.load(spec: rawValue, split: split,
                                   imagesPath: (dir as NSString).appendingPathComponent(names.images),
                                   labelsPath: (dir as NSString).appendingPathComponent(names.labels),
                                   expected: checksums(split), classes: 10)
    }

    /// What to tell a user whose copy is missing.
    var installHint: String {
        switch self {
        case .mnist: return "the repository ships data/mnist; set FS_DATA_DIR to a directory holding mnist/"
        case .fashionMNIST: return "install it with `apt-get install dataset-fashion-mnist` (jobs/setup.sh does), "
            + "or set FS_DATA_DIR to a directory holding fashion-mnist/"
        }
    }
}
