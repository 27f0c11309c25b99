import CArchive
import Foundation
import TensorCore

/// The decompressed bytes of a gzip file and their SHA-256.
struct GunzippedFile {
    let bytes: [UInt8]
    let sha256: String
}

/// Decompresses a `.gz` file with libarchive (gzip filter + raw format) and hashes the output.
///
/// Decompression and hashing cost about the same, so with two or more compute threads they run as a
/// two-stage pipeline: while chunk i is inflated, chunk i-1 is hashed (60k MNIST images load in well
/// under a second). A missing file, a file that is not gzip, or a stream that ends early or fails its
/// CRC throws a `DatasetError` naming the file.
func gunzip(path: String) throws -> GunzippedFile {
    let reader = try GzipReader(path: path)
    var chunks: [[UInt8]] = []
    var hasher = SHA256Hasher()
    var next: Result<[UInt8], DatasetError> = .success([])
    var pending: [UInt8] = []  // inflated, not yet hashed
    repeat {
        // Stage 0 inflates the next chunk while stage 1 hashes the previous one (disjoint state).
        parallelChunks(2) { _, stages in
            for stage in stages {
                if stage == 0 { next = Result { try reader.readChunk() }.mapError { $0 as! DatasetError } }
                else { pending.withUnsafeBytes { hasher.update($0) } }
            }
        }
        if !pending.isEmpty { chunks.append(pending) }
        pending = try next.get()
    } while !pending.isEmpty

    var bytes = [UInt8]()
    bytes.reserveCapacity(chunks.reduce(0) { $0 + $1.count })
    for c in chunks { bytes.append(contentsOf: c) }
    return GunzippedFile(bytes: bytes, sha256: hasher.finalizeHex())
}

/// A libarchive read handle positioned on the single raw entry of a gzip file.
private final class GzipReader {
    let path: String
    let archive: OpaquePointer
    private(set) var produced = 0
    static let chunkSize = 4 << 20

    init(path: String) throws {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else {
            throw DatasetError(file: path, problem: "file not found")
        }
        guard let a = archive_read_new() else { throw DatasetError(file: path, problem: "libarchive: out of memory") }
        archive = a
        archive_read_support_filter_gzip(a)
        archive_read_support_format_raw(a)
        guard archive_read_open_filename(a, path, 1 << 20) == ARCHIVE_OK else { throw failure("cannot open") }
        var entry: OpaquePointer?
        guard archive_read_next_header(a, &entry) == ARCHIVE_OK else { throw failure("cannot read gzip stream") }
        guard archive_filter_code(a, 0) == ARCHIVE_FILTER_GZIP else {
            throw DatasetError(file: path, problem: "not gzip-compressed")
        }
    }

    deinit { archive_read_free(archive) }

    func failure(_ what: String) -> DatasetError {
        let detail = archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
        return DatasetError(file: path, problem: "\(what): \(detail)")
    }

    /// Up to `chunkSize` further decompressed bytes; empty at the end of the stream.
    func readChunk() throws -> [UInt8] {
        var error: DatasetError?
        let chunk = [UInt8](unsafeUninitializedCapacity: Self.chunkSize) { buf, filled in
            filled = 0
            while filled < Self.chunkSize {
                let n = archive_read_data(archive, buf.baseAddress! + filled, Self.chunkSize - filled)
                if n == 0 { break }
                if n < 0 {
                    error = failure("corrupt or truncated gzip data after \(produced + filled) bytes")
                    break
                }
                filled += n
            }
        }
        if let error { throw error }
        produced += chunk.count
        return chunk
    }
}
