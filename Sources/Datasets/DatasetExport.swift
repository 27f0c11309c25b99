import CArchive
import Foundation
import ImageIO

/// Writes a dataset in the two interchange layouts the readers take, so any dataset can be handed to
/// tools that expect them (and a user can check that all three readers see the same images):
/// ImageFolder (`DIR/<class>/<index>.png`, class folders zero-padded so that name order is label
/// order) and the EDM / StyleGAN2-ADA zip (`00000/img00000000.png` + `dataset.json`).
public enum DatasetExport {
    /// The 8-bit image of row `i` (the exact inverse of the readers' byte -> [-1, 1] scaling).
    public static func pixelImage(_ data: ImageDataset, _ i: Int) -> PixelImage {
        let g = data.geometry, f = g.floats
        let planar = data.images.data[(i * f)..<((i + 1) * f)].map { GrayImage.byte($0) }
        return PixelImage.interleaving(planar: planar, width: g.width, height: g.height, channels: g.channels)
    }

    static func className(_ label: Int, classes: Int) -> String {
        let digits = String(max(0, classes - 1)).count
        return String(repeating: "0", count: max(0, digits - String(label).count)) + String(label)
    }

    /// ImageFolder under `dir` (created; must not hold files already). Unlabelled sets go to `dir/0/`.
    public static func writeFolder(_ data: ImageDataset, to dir: String) throws {
        let fm = FileManager.default
        if let existing = try? fm.contentsOfDirectory(atPath: dir), !existing.isEmpty {
            throw DatasetError(file: dir, problem: "exists and is not empty")
        }
        let classes = max(1, data.classCount)
        for c in 0..<classes {
            try fm.createDirectory(atPath: (dir as NSString).appendingPathComponent(className(c, classes: classes)),
                                   withIntermediateDirectories: true)
        }
        let width = String(max(0, data.count - 1)).count
        for i in 0..<data.count {
            let label = data.isLabelled ? data.labels[i] : 0
            let name = String(repeating: "0", count: max(0, width - String(i).count)) + "\(i).png"
            let path = ((dir as NSString).appendingPathComponent(className(label, classes: classes)) as NSString).appendingPathComponent(name)
            try PNG.write(pixelImage(data, i), to: path)
        }
    }

    /// The EDM-style zip at `path` (written to a temporary name, renamed when complete).
    public static func writeZip(_ data: ImageDataset, to path: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else { throw DatasetError(file: path, problem: "exists already") }
        let tmp = "\(path).tmp-\(getpid())"
        guard let a = archive_write_new() else { throw DatasetError(file: path, problem: "libarchive: out of memory") }
        defer { archive_write_free(a) }
        func failure(_ what: String) -> DatasetError {
            unlink(tmp)
            return DatasetError(file: path, problem: "\(what): \(archive_error_string(a).map { String(cString: $0) } ?? "libarchive error")")
        }
        archive_write_set_format_zip(a)
        guard archive_write_open_filename(a, tmp) == ARCHIVE_OK else { throw failure("cannot create") }
        func add(_ name: String, _ bytes: [UInt8]) throws {
            guard let e = archive_entry_new() else { throw failure("out of memory") }
            defer { archive_entry_free(e) }
            archive_entry_set_pathname(e, name)
            archive_entry_set_filetype(e, CARCHIVE_AE_IFREG)
            archive_entry_set_perm(e, 0o644)
            archive_entry_set_size(e, Int64(bytes.count))
            guard archive_write_header(a, e) == ARCHIVE_OK else { throw failure("cannot add \(name)") }
            let written = bytes.withUnsafeBytes { archive_write_data(a, $0.baseAddress, $0.count) }
            guard written == bytes.count else { throw failure("cannot write \(name)") }
        }
        var labels: [String] = []
        for i in 0..<data.count {
            let name = String(format: "%05d/img%08d.png", i / 1000, i)
            try add(name, try PNG.encode(pixelImage(data, i), name: name))
            if data.isLabelled { labels.append("[\"\(name)\", \(data.labels[i])]") }
        }
        let json = data.isLabelled ? "{\"labels\": [" + labels.joined(separator: ", ") + "]}" : "{\"labels\": null}"
        try add("dataset.json", Array(json.utf8))
        guard archive_write_close(a) == ARCHIVE_OK else { throw failure("cannot finish") }
        guard rename(tmp, path) == 0 else { throw failure("cannot rename into place") }
    }
}
