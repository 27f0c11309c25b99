import Foundation

/// What `--data SPEC` names: a known IDX dataset (`mnist`, `fashion-mnist`), any IDX pair
/// (`idx:PREFIX`), an ImageFolder directory, or an EDM-style `.zip`.
public enum DatasetSpec: Equatable, Sendable, CustomStringConvertible {
    case known(KnownIDX)
    case idx(prefix: String)
    case folder(String)
    case zip(String)

    public static let help = "mnist | fashion-mnist | idx:PREFIX (PREFIX-images-idx3-ubyte[.gz] + "
        + "PREFIX-labels-idx1-ubyte[.gz]) | DIR (DIR/<class>/*.png) | FILE.zip (EDM dataset_tool layout)"

    public init(parsing text: String) throws {
        if let known = KnownIDX(rawValue: text) { self = .known(known); return }
        if text.hasPrefix("idx:") {
            let prefix = String(text.dropFirst(4))
            guard !prefix.isEmpty else { throw DatasetError(file: text, problem: "idx: needs a PREFIX") }
            self = .idx(prefix: prefix); return
        }
        if text.lowercased().hasSuffix(".zip") { self = .zip(text); return }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: text, isDirectory: &isDir), isDir.boolValue { self = .folder(text); return }
        throw DatasetError(file: text, problem: "not a dataset: expected \(Self.help)")
    }

    public var description: String {
        switch self {
        case .known(let k): return k.rawValue
        case .idx(let p): return "idx:\(p)"
        case .folder(let d): return d
        case .zip(let z): return z
        }
    }

    /// Whether `--split` chooses something for this format. IDX pairs name their split in the prefix
    /// and zips have none; a folder has splits when it holds `train/` and `test/` subfolders.
    public func hasSplits() -> Bool {
        switch self {
        case .known: return true
        case .idx, .zip: return false
        case .folder(let d):
            let fm = FileManager.default
            return ["train", "test"].allSatisfy { fm.fileExists(atPath: (d as NSString).appendingPathComponent($0)) }
        }
    }

    /// Loads the dataset. `split` picks a split where the format has one (default train); asking for
    /// a split of a format without splits is an error rather than silently ignored.
    public func load(split: DatasetSplit? = nil) throws -> ImageDataset {
        if let split, !hasSplits() {
            throw DatasetError(file: description, problem: "has no splits; --split \(split.rawValue) does not apply")
        }
        switch self {
        case .known(let k):
            return try k.load(split ?? .train)
        case .idx(let prefix):
            let fm = FileManager.default
            func pick(_ stem: String) -> String? {
                [stem, stem + ".gz"].first { fm.fileExists(atPath: $0) }
            }
            guard let images = pick("\(prefix)-images-idx3-ubyte") else {
                throw DatasetError(file: "\(prefix)-images-idx3-ubyte[.gz]", problem: "file not found")
            }
            return try IDXDataset.load(spec: description, split: nil, imagesPath: images,
                                       labelsPath: pick("\(prefix)-labels-idx1-ubyte"))
        case .folder(let dir):
            if hasSplits() {
                let s = split ?? .train
                return try ImageFolderDataset.load(spec: description, root: (dir as NSString).appendingPathComponent(s.rawValue), split: s)
            }
            return try ImageFolderDataset.load(spec: description, root: dir, split: nil)
        case .zip(let path):
            return try EDMZipDataset.load(spec: description, path: path)
        }
    }
}

extension ImageDataset {
    /// `DatasetSpec(parsing: spec).load(split:)`.
    public static func load(_ spec: String, split: DatasetSplit? = nil) throws -> ImageDataset {
        try DatasetSpec(parsing: spec).load(split: split)
    }

    /// The MNIST split from the project's copy (or `directory`).
    public static func mnist(_ split: DatasetSplit, directory: String? = nil) throws -> ImageDataset {
        try KnownIDX.mnist.load(split, directory: directory)
    }
}
