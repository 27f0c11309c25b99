import Foundation
import ImageIO
import Testing
import TensorCore
@testable import Datasets

/// The reader suite every dataset format passes: counts, labels, geometry, order-free identity across
/// formats, and corrupt or inconsistent input -> a `DatasetError` naming the file.
@Suite struct DatasetReaderTests {
    /// A small labelled set in memory: n images of 3 x 8 x 6 (non-square, so H/W mix-ups show).
    static func sample(n: Int = 7, channels: Int = 3) throws -> ImageDataset {
        let g = ImageGeometry(channels: channels, height: 8, width: 6)
        let count = n * g.floats
        let bytes: [UInt8] = (0..<count).map { (i: Int) -> UInt8 in UInt8(truncatingIfNeeded: i * 37 + i / 11) }
        return try ImageDataset(spec: "memory", split: nil, geometry: g, bytes: bytes, labels: (0..<n).map { $0 % 3 }, source: "memory")
    }

    static func scratch() throws -> String {
        let dir = NSTemporaryDirectory() + "fs-datasets-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test(arguments: [1, 3]) func folderAndZipReadBackTheSameImages(channels: Int) throws {
        let data = try Self.sample(channels: channels), dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try DatasetExport.writeFolder(data, to: dir + "/folder")
        try DatasetExport.writeZip(data, to: dir + "/set.zip")
        let folder = try ImageDataset.load(dir + "/folder"), zip = try ImageDataset.load(dir + "/set.zip")
        for d in [folder, zip] {
            #expect(d.geometry == data.geometry && d.count == data.count && d.classCount == 3)
            #expect(d.record.setSHA256 == data.record.setSHA256, "the same images and labels as a set")
        }
        // The zip keeps the order (dataset.json lists the files in order); the folder groups by class.
        #expect(zip.record.sha256 == data.record.sha256 && zip.images.data == data.images.data && zip.labels == data.labels)
        #expect(folder.labels == folder.labels.sorted())
        #expect(folder.classNames == ["0", "1", "2"])
    }

    @Test func unlabelledZipIsUnconditional() throws {
        let labelled = try Self.sample(), dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let g = labelled.geometry
        let bytes = labelled.images.data.map { GrayImage.byte($0) }
        let data = try ImageDataset(spec: "memory", split: nil, geometry: g, bytes: bytes, labels: nil, source: "memory")
        try DatasetExport.writeZip(data, to: dir + "/u.zip")
        let back = try ImageDataset.load(dir + "/u.zip")
        #expect(!back.isLabelled && back.classCount == 0 && back.record.sha256 == data.record.sha256)
    }

    @Test func badFoldersNameTheFile() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir + "/empty/a", withIntermediateDirectories: true)
        let empty = try #require(throws: DatasetError.self) { try ImageDataset.load(dir + "/empty") }
        #expect(empty.file == dir + "/empty")
        try fm.createDirectory(atPath: dir + "/mixed/a", withIntermediateDirectories: true)
        try PNG.write(PixelImage(filled: 9, width: 4, height: 4, channels: 1), to: dir + "/mixed/a/x.png")
        try PNG.write(PixelImage(filled: 9, width: 5, height: 4, channels: 1), to: dir + "/mixed/a/y.png")
        let mixed = try #require(throws: DatasetError.self) { try ImageDataset.load(dir + "/mixed") }
        #expect(mixed.file.hasSuffix("y.png") && mixed.problem.contains("differs"))
        try Data("not a png".utf8).write(to: URL(fileURLWithPath: dir + "/mixed/a/y.png"))
        let corrupt = try #require(throws: DatasetError.self) { try ImageDataset.load(dir + "/mixed") }
        #expect(corrupt.file.hasSuffix("y.png"))
    }

    @Test func specsAndSplits() throws {
        #expect(try DatasetSpec(parsing: "mnist") == .known(.mnist))
        #expect(try DatasetSpec(parsing: "fashion-mnist") == .known(.fashionMNIST))
        #expect(try DatasetSpec(parsing: "idx:/x/train") == .idx(prefix: "/x/train"))
        #expect(try DatasetSpec(parsing: "a.zip") == .zip("a.zip"))
        #expect(throws: DatasetError.self) { try DatasetSpec(parsing: "/no/such/dir") }
        #expect(throws: DatasetError.self) { try DatasetSpec.zip("a.zip").load(split: .test) }
    }

    @Test func idxLabelsOutsideTheClassesAreRefused() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let images: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2] + [UInt8](repeating: 7, count: 8)
        let labels: [UInt8] = [0, 0, 8, 1, 0, 0, 0, 2, 1, 12]
        try Data(images).write(to: URL(fileURLWithPath: dir + "/t-images-idx3-ubyte"))
        try Data(labels).write(to: URL(fileURLWithPath: dir + "/t-labels-idx1-ubyte"))
        let any = try ImageDataset.load("idx:\(dir)/t")
        #expect(any.count == 2 && any.geometry == ImageGeometry(channels: 1, height: 2, width: 2) && any.classCount == 13)
        let e = try #require(throws: DatasetError.self) {
            try IDXDataset.load(spec: "t", split: nil, imagesPath: dir + "/t-images-idx3-ubyte",
                                labelsPath: dir + "/t-labels-idx1-ubyte", classes: 10)
        }
        #expect(e.problem.contains("label 12"))
    }

    @Test func setHashIgnoresOrderButNotContent() throws {
        let a = try Self.sample()
        let reversed = Array((0..<a.count).reversed())
        let b = ImageDataset(images: a.batch(reversed), labels: reversed.map { a.labels[$0] })
        let bytes = b.images.data.map { GrayImage.byte($0) }
        let c = try ImageDataset(spec: "r", split: nil, geometry: a.geometry, bytes: bytes, labels: b.labels, source: "r")
        #expect(c.record.setSHA256 == a.record.setSHA256 && c.record.sha256 != a.record.sha256)
        var other = b.labels; other[0] = (other[0] + 1) % 3
        let d = try ImageDataset(spec: "r", split: nil, geometry: a.geometry, bytes: bytes, labels: other, source: "r")
        #expect(d.record.setSHA256 != a.record.setSHA256)
    }

    @Test func fashionMNISTVerifiesWhenInstalled() throws {
        guard (try? DataDirectory.locate(.fashionMNIST)) != nil else { return }  // jobs/setup.sh installs it
        let test = try KnownIDX.fashionMNIST.load(.test)
        #expect(test.count == 10_000 && test.classCount == 10 && test.record.setSHA256 == KnownIDX.fashionMNIST.setSHA256(.test))
        var perClass = [Int](repeating: 0, count: 10)
        for y in test.labels { perClass[y] += 1 }
        #expect(perClass == [Int](repeating: 1000, count: 10))
    }
}
