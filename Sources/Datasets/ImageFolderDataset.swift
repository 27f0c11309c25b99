import Foundation
import ImageIO

/// torchvision's ImageFolder convention: `ROOT/<class name>/<image>.png`, classes sorted by name give
/// labels 0..K-1, images sorted by file name within a class. Gray and RGB may be mixed: if any image
/// has colour, every image is read as RGB (gray replicated).
public enum ImageFolderDataset {
    public static func load(spec: String, root: String, split: DatasetSplit?) throws -> ImageDataset {
        let fm = FileManager.default
        let classNames = try subdirectories(root)
        guard !classNames.isEmpty else {
            throw DatasetError(file: root, problem: "no class folders (expected ROOT/<class name>/*.png)")
        }
        var files: [(path: String, label: Int)] = []
        for (label, name) in classNames.enumerated() {
            let dir = (root as NSString).appendingPathComponent(name)
            let pngs = try fm.contentsOfDirectory(atPath: dir).filter { $0.lowercased().hasSuffix(".png") }.sorted()
            files += pngs.map { ((dir as NSString).appendingPathComponent($0), label) }
        }
        guard !files.isEmpty else { throw DatasetError(file: root, problem: "no .png files in its class folders") }
        let images = try files.map { f in
            do { return try PNG.readPixels(f.path) } catch let e as ImageIOError {
                throw DatasetError(file: f.path, problem: e.problem)
            }
        }
        return try assemble(spec: spec, split: split, images: images, names: files.map(\.path),
                            labels: files.map(\.label), classes: classNames.count, classNames: classNames, source: root)
    }

    /// Visible subdirectories of `dir`, sorted by name.
    static func subdirectories(_ dir: String) throws -> [String] {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw DatasetError(file: dir, problem: "not a directory")
        }
        return try fm.contentsOfDirectory(atPath: dir).filter { name in
            var d: ObjCBool = false
            return !name.hasPrefix(".") && fm.fileExists(atPath: (dir as NSString).appendingPathComponent(name), isDirectory: &d) && d.boolValue
        }.sorted()
    }

    /// One dataset from decoded images: all the same size (else an error naming the first odd file),
    /// RGB if any is colour, bytes in NCHW order.
    static func assemble(spec: String, split: DatasetSplit?, images: [PixelImage], names: [String], labels: [Int]?,
                         classes: Int?, classNames: [String] = [], source: String) throws -> ImageDataset {
        let first = images[0]
        if let odd = images.indices.first(where: { images[$0].width != first.width || images[$0].height != first.height }) {
            throw DatasetError(file: names[odd], problem: "size \(images[odd].width)x\(images[odd].height) differs from "
                               + "\(first.width)x\(first.height) of \(names[0]) (all images must have one size)")
        }
        let channels = images.contains { $0.channels == 3 } ? 3 : 1
        var bytes = [UInt8](); bytes.reserveCapacity(images.count * first.width * first.height * channels)
        for image in images { bytes += (channels == 3 ? image.rgb : image).planar }
        return try ImageDataset(spec: spec, split: split,
                                geometry: ImageGeometry(channels: channels, height: first.height, width: first.width),
                                bytes: bytes, labels: labels, classes: classes, classNames: classNames, source: source)
    }
}
