import CArchive
import Foundation
import ImageIO

/// The zip layout of EDM / StyleGAN2-ADA's `dataset_tool.py`: PNGs (`00000/img00000000.png`, ...) and
/// a `dataset.json` holding `{"labels": [["00000/img00000000.png", 6], ...]}` or `{"labels": null}`.
/// Read with libarchive straight from the zip, nothing unpacked to disk. Image order: the order of
/// `labels` when given, else PNG names sorted; without labels the set is unconditional.
public enum EDMZipDataset {
    /// Entries larger than this are refused before they are read (a zip bomb cannot exhaust memory).
    static let maxEntryBytes = 64 << 20

    public static func load(spec: String, path: String) throws -> ImageDataset {
        let entries = try readEntries(path)
        var order = entries.keys.filter { $0.lowercased().hasSuffix(".png") }.sorted()
        var labels: [Int]?
        if let json = entries["dataset.json"] {
            guard let root = try? JSONSerialization.jsonObject(with: Data(json)) as? [String: Any] else {
                throw DatasetError(file: "\(path):dataset.json", problem: "not a JSON object")
            }
            if let list = root["labels"] as? [Any] {
                var names: [String] = [], values: [Int] = []
                for (i, item) in list.enumerated() {
                    guard let pair = item as? [Any], pair.count == 2, let name = pair[0] as? String,
                          let label = (pair[1] as? NSNumber)?.intValue else {
                        throw DatasetError(file: "\(path):dataset.json", problem: "labels[\(i)] is not [\"name.png\", integer]")
                    }
                    guard entries[name] != nil else {
                        throw DatasetError(file: "\(path):\(name)", problem: "listed in dataset.json but not in the zip")
                    }
                    names.append(name); values.append(label)
                }
                (order, labels) = (names, values)
            } else if root["labels"] != nil && !(root["labels"] is NSNull) {
                throw DatasetError(file: "\(path):dataset.json", problem: "\"labels\" must be a list or null")
            }
        }
        guard !order.isEmpty else { throw DatasetError(file: path, problem: "no PNG images in the zip") }
        let images = try order.map { name in
            do { return try PNG.decode(entries[name]!, name: "\(path):\(name)") } catch let e as ImageIOError {
                throw DatasetError(file: e.file, problem: e.problem)
            }
        }
        if let labels, let bad = labels.first(where: { $0 < 0 }) {
            throw DatasetError(file: "\(path):dataset.json", problem: "negative label \(bad)")
        }
        return try ImageFolderDataset.assemble(spec: spec, split: nil, images: images, names: order.map { "\(path):\($0)" },
                                               labels: labels, classes: nil, source: "\(path):dataset.json")
    }

    /// Every regular entry of the zip: name -> bytes.
    static func readEntries(_ path: String) throws -> [String: [UInt8]] {
        guard FileManager.default.fileExists(atPath: path) else { throw DatasetError(file: path, problem: "file not found") }
        guard let a = archive_read_new() else { throw DatasetError(file: path, problem: "libarchive: out of memory") }
        defer { archive_read_free(a) }
        archive_read_support_format_zip(a)
        func failure(_ what: String) -> DatasetError {
            DatasetError(file: path, problem: "\(what): \(archive_error_string(a).map { String(cString: $0) } ?? "libarchive error")")
        }
        guard archive_read_open_filename(a, path, 1 << 20) == ARCHIVE_OK else { throw failure("not a readable zip") }
        var out: [String: [UInt8]] = [:]
        var entry: OpaquePointer?
        while true {
            let r = archive_read_next_header(a, &entry)
            if r == ARCHIVE_EOF { break }
            guard r == ARCHIVE_OK || r == ARCHIVE_WARN, let entry else { throw failure("corrupt zip") }
            guard archive_entry_filetype(entry) == CARCHIVE_AE_IFREG, let cName = archive_entry_pathname(entry) else { continue }
            let name = String(cString: cName)
            let declared = archive_entry_size_is_set(entry) != 0 ? Int(archive_entry_size(entry)) : 0
            guard declared <= maxEntryBytes else {
                throw DatasetError(file: "\(path):\(name)", problem: "entry declares \(declared) bytes, more than the \(maxEntryBytes)-byte limit")
            }
            var bytes = [UInt8](), chunk = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = chunk.withUnsafeMutableBytes { archive_read_data(a, $0.baseAddress, $0.count) }
                if n == 0 { break }
                guard n > 0 else { throw failure("corrupt entry \(name)") }
                bytes += chunk[0..<n]
                guard bytes.count <= maxEntryBytes else {
                    throw DatasetError(file: "\(path):\(name)", problem: "entry inflates past the \(maxEntryBytes)-byte limit")
                }
            }
            out[name] = bytes
        }
        return out
    }
}
