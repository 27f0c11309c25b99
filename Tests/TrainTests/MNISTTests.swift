import CArchive
import Foundation
import Testing
import TensorCore
@testable import Datasets

/// Writes `bytes` as a single-member gzip file (libarchive raw format + gzip filter).
private func writeGzip(_ bytes: [UInt8], to path: String) {
    let a = archive_write_new()
    archive_write_add_filter_gzip(a)
    archive_write_set_format_raw(a)
    archive_write_open_filename(a, path)
    let e = archive_entry_new()
    archive_entry_set_filetype(e, CARCHIVE_AE_IFREG)
    archive_entry_set_pathname(e, "data")
    archive_entry_set_size(e, la_int64_t(bytes.count))
    archive_write_header(a, e)
    _ = bytes.withUnsafeBytes { archive_write_data(a, $0.baseAddress, $0.count) }
    archive_entry_free(e)
    archive_write_close(a)
    archive_write_free(a)
}

/// A fresh temporary directory holding copies of the named real MNIST files.
private func scratchDir(copying names: [String]) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mnist-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let source = try DataDirectory.mnist()
    for n in names {
        try FileManager.default.copyItem(atPath: "\(source)/\(n)", toPath: "\(dir)/\(n)")
    }
    return dir
}

/// Loading all 60k training images takes ~30 s in an unoptimised debug build (SHA-256 and gunzip of
/// 47 MB), so that test runs in release builds (`swift test -c release`) or with FS_FULL_TESTS=1.
#if DEBUG
private let fullDataTests = ProcessInfo.processInfo.environment["FS_FULL_TESTS"] == "1"
#else
private let fullDataTests = true
#endif

@Suite struct MNISTTests {
    @Test func testSplitLoadsWithKnownClassCounts() throws {
        let m = try ImageDataset.mnist(.test)
        #expect(m.count == 10_000)
        #expect(m.images.shape == [10_000, 1, 28, 28])
        var counts = [Int](repeating: 0, count: 10)
        for l in m.labels { counts[l] += 1 }
        #expect(counts == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
        #expect(m.images.data.min() == -1 && m.images.data.max() == 1)
    }

    /// The train split matches the published per-class counts and pixel mean/std (0.13066, 0.30811 in [0,1]).
    @Test(.enabled(if: fullDataTests, "slow in debug builds; set FS_FULL_TESTS=1"))
    func trainSplitMatchesPublishedStatistics() throws {
        let m = try ImageDataset.mnist(.train)
        #expect(m.images.shape == [60_000, 1, 28, 28])
        var counts = [Int](repeating: 0, count: 10)
        for l in m.labels { counts[l] += 1 }
        #expect(counts == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
        var sum = 0.0, sq = 0.0
        for v in m.images.data { let p = (Double(v) + 1) / 2; sum += p; sq += p * p }
        let n = Double(m.images.count), mean = sum / n
        #expect(abs(mean - 0.13066) < 5e-5)
        #expect(abs((sq / n - mean * mean).squareRoot() - 0.30811) < 5e-5)
    }

    @Test func pixelScalingIsExact() {
        let x = ImageDataset.scaledPixels([255, 128, 0])
        #expect(x == [1, Float(128) / 127.5 - 1, -1])
    }

    @Test func missingFileNamesTheFile() throws {
        let dir = try scratchDir(copying: [IDXDataset.fileNames(.test).images])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let e = try #require(throws: DatasetError.self) { try ImageDataset.mnist(.test, directory: dir) }
        #expect(e.file.hasSuffix("t10k-labels-idx1-ubyte.gz"))
        #expect(e.description.contains("not found"))
    }

    @Test func truncatedFileIsReported() throws {
        let dir = try scratchDir(copying: [])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let source = try DataDirectory.mnist()
        let whole = try Data(contentsOf: URL(fileURLWithPath: "\(source)/\(IDXDataset.fileNames(.test).images)"))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: "\(dir)/\(IDXDataset.fileNames(.test).images)"))
        let e = try #require(throws: DatasetError.self) { try ImageDataset.mnist(.test, directory: dir) }
        #expect(e.file.hasSuffix("t10k-images-idx3-ubyte.gz"))
        #expect(e.problem.contains("truncated"))
    }

    @Test func checksumMismatchIsReported() throws {
        let dir = try scratchDir(copying: [IDXDataset.fileNames(.test).labels])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A well-formed IDX image file of the right size whose content differs (all zeros).
        var bytes: [UInt8] = [0, 0, 8, 3, 0, 0, 0x27, 0x10, 0, 0, 0, 28, 0, 0, 0, 28]
        bytes += [UInt8](repeating: 0, count: 10_000 * 28 * 28)
        writeGzip(bytes, to: "\(dir)/\(IDXDataset.fileNames(.test).images)")
        let e = try #require(throws: DatasetError.self) { try ImageDataset.mnist(.test, directory: dir) }
        #expect(e.file.hasSuffix("t10k-images-idx3-ubyte.gz"))
        #expect(e.problem.contains("SHA-256 mismatch"))
    }

    @Test func notGzipIsReported() throws {
        let dir = try scratchDir(copying: [])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("plain text, not gzip".utf8).write(to: URL(fileURLWithPath: "\(dir)/\(IDXDataset.fileNames(.test).images)"))
        let e = try #require(throws: DatasetError.self) { try ImageDataset.mnist(.test, directory: dir) }
        #expect(e.file.hasSuffix("t10k-images-idx3-ubyte.gz"))
    }

    @Test func idxHeaderChecks() {
        let ok: [UInt8] = [0, 0, 8, 1, 0, 0, 0, 2, 7, 9]
        #expect((try? IDXDataset.header(ok, magic: 2049, rank: 1, path: "x")) == [2])
        #expect(throws: DatasetError.self) { try IDXDataset.header(Array(ok.dropLast()), magic: 2049, rank: 1, path: "x") }
        #expect(throws: DatasetError.self) { try IDXDataset.header(ok, magic: 2051, rank: 1, path: "x") }
        #expect(throws: DatasetError.self) { try IDXDataset.header([0, 0], magic: 2049, rank: 1, path: "x") }
    }

    @Test func dataDirectoryHonoursEnvironment() throws {
        let real = try DataDirectory.mnist()
        let parent = (real as NSString).deletingLastPathComponent
        #expect(try DataDirectory.mnist(environment: ["FS_DATA_DIR": parent]) == real)
        #expect(try DataDirectory.mnist(environment: ["FS_DATA_DIR": real]) == real)
        #expect(throws: DatasetError.self) { try DataDirectory.mnist(environment: ["FS_DATA_DIR": "/nonexistent"]) }
    }
}
