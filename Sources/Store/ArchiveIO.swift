import CArchive
import Foundation

/// Writes a pax `.tar.zst` through libarchive (zstd level 3, `threads` zstd workers), entry by entry.
final class TarZstWriter {
    private let a: OpaquePointer
    let path: String
    private let tmp: String
    private var closed = false

    init(path: String, threads: Int = 1) throws {
        self.path = path
        self.tmp = path + ".tmp-\(getpid())"
        guard let a = archive_write_new() else { throw StoreError.badInput(file: path, reason: "libarchive: out of memory") }
        self.a = a
        try check(archive_write_add_filter_zstd(a))
        try check(archive_write_set_filter_option(a, nil, "compression-level", "3"))
        // zstd workers (libarchive's "threads"): with >= 1 the calling thread only hands data over,
        // so reading SQLite and hashing overlap with compression. Output is the same for any
        // count >= 1 (and any zstd reader reads it); 0 compresses on the calling thread.
        try check(archive_write_set_filter_option(a, nil, "threads", String(max(0, threads))))
        try check(archive_write_set_format_pax_restricted(a))
        // libarchive's default is one write(2) per 10 KB block of compressed output.
        try check(archive_write_set_bytes_per_block(a, 1 << 20))
        try check(archive_write_set_bytes_in_last_block(a, 1))   // and no padding after the last one
        try check(archive_write_open_filename(a, tmp))
    }

    deinit {
        if !closed { archive_write_free(a); unlink(tmp) }
    }

    private func check(_ rc: Int32) throws {
        if rc < ARCHIVE_WARN {
            let msg = archive_error_string(a).map { String(cString: $0) } ?? "error \(rc)"
            throw StoreError.writeFailed(path: path, reason: "cannot write archive: \(msg)")
        }
    }

    /// Adds a regular file entry holding `bytes`.
    func add(name: String, bytes: UnsafeRawBufferPointer, mtime: Int) throws {
        try beginEntry(name: name, size: bytes.count, mtime: mtime)
        try writeData(bytes)
    }

    /// Starts a regular file entry of exactly `size` bytes; follow with `writeData` calls adding up to `size`.
    func beginEntry(name: String, size: Int, mtime: Int) throws {
        guard let e = archive_entry_new() else { throw StoreError.badInput(file: path, reason: "libarchive: out of memory") }
        defer { archive_entry_free(e) }
        archive_entry_set_pathname(e, name)
        archive_entry_set_size(e, la_int64_t(size))
        archive_entry_set_filetype(e, CARCHIVE_AE_IFREG)
        archive_entry_set_perm(e, 0o644)
        archive_entry_set_mtime(e, time_t(mtime), 0)
        try check(archive_write_header(a, e))
    }

    /// Appends bytes to the current entry (compressed on this thread, or by zstd's workers).
    func writeData(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = archive_write_data(a, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 { try check(Int32(n)) }
            if n == 0 { throw StoreError.writeFailed(path: path, reason: "cannot write archive: short write") }
            done += n
        }
    }

    /// Finishes the archive and moves it into place.
    func close() throws {
        closed = true
        let rc = archive_write_close(a)
        let msg = archive_error_string(a).map { String(cString: $0) } ?? "error \(rc)"
        archive_write_free(a)
        guard rc >= ARCHIVE_WARN else { unlink(tmp); throw StoreError.writeFailed(path: path, reason: "cannot write archive: \(msg)") }
        guard rename(tmp, path) == 0 else {
            unlink(tmp)
            throw StoreError.writeFailed(path: path, reason: "cannot move archive into place: \(String(cString: strerror(errno)))")
        }
    }
}

/// Reads a tar archive (any libarchive filter) entry by entry; errors name the file.
final class TarReader {
    private let a: OpaquePointer
    let path: String

    init(path: String) throws {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else { throw StoreError.badInput(file: path, reason: "no such file") }
        guard let a = archive_read_new() else { throw StoreError.badInput(file: path, reason: "libarchive: out of memory") }
        self.a = a
        archive_read_support_filter_all(a)
        archive_read_support_format_tar(a)
        try check(archive_read_open_filename(a, path, 1 << 20))
    }

    deinit { archive_read_free(a) }

    private func check(_ rc: Int32) throws {
        if rc < ARCHIVE_WARN {
            let msg = archive_error_string(a).map { String(cString: $0) } ?? "error \(rc)"
            throw StoreError.badInput(file: path, reason: "damaged or truncated archive: \(msg)")
        }
    }

    /// Largest entry a restore accepts: `$FS_RESTORE_MAX_ENTRY_BYTES`, else a quarter of physical
    /// memory (a sane bound for one artifact; reading is streamed either way); also never more
    /// than the free space beside the target store (checked by `checkArchive`).
    static var maxEntryBytes: Int {
        if let s = ProcessInfo.processInfo.environment["FS_RESTORE_MAX_ENTRY_BYTES"], let v = Int(s), v > 0 { return v }
        return Int(ProcessInfo.processInfo.physicalMemory / 4)
    }

    /// The next entry's header: a regular file whose declared size is at most `limit`, named
    /// without `..` or a leading `/` (archives hold only `manifest.json` and `artifacts/*`), or nil
    /// at the end. Read its bytes with `read(into:)`; an unread remainder is skipped by the next call.
    func nextHeader(limit: Int) throws -> (name: String, size: Int)? {
        var e: OpaquePointer?
        let rc = archive_read_next_header(a, &e)
        if rc == ARCHIVE_EOF { return nil }
        try check(rc)
        guard let e, let p = archive_entry_pathname(e) else { throw StoreError.badInput(file: path, reason: "entry without a name") }
        let name = String(cString: p)
        guard archive_entry_filetype(e) == CARCHIVE_AE_IFREG else {
            throw StoreError.badInput(file: path, reason: "entry '\(name)' is not a regular file (a link or directory); not a FlowSteer archive")
        }
        guard !name.hasPrefix("/"), !name.split(separator: "/").contains("..") else {
            throw StoreError.badInput(file: path, reason: "entry '\(name)' has an absolute or '..' path; not a FlowSteer archive")
        }
        guard archive_entry_size_is_set(e) != 0 else { throw StoreError.badInput(file: path, reason: "entry '\(name)' declares no size") }
        let size = Int(archive_entry_size(e))
        guard size >= 0, size <= limit else {
            throw StoreError.badInput(file: path, reason: "entry '\(name)' declares \(size) bytes, more than the \(limit) allowed (free space or $FS_RESTORE_MAX_ENTRY_BYTES); refused before reading it")
        }
        current = (name, size, 0)
        return (name, size)
    }

    private var current: (name: String, size: Int, read: Int)?

    /// Reads up to `buf.count` bytes of the current entry (0 at its end); throws if the entry
    /// yields more or fewer bytes than it declared.
    func read(into buf: UnsafeMutableRawBufferPointer) throws -> Int {
        guard var c = current else { return 0 }
        while true {
            let n = archive_read_data(a, buf.baseAddress, buf.count)
            if n < 0 { try check(Int32(n)); continue }
            c.read += n
            current = c
            if c.read > c.size { throw StoreError.badInput(file: path, reason: "entry '\(c.name)' holds more than its declared \(c.size) bytes") }
            if n == 0 && c.read < c.size {
                throw StoreError.badInput(file: path, reason: "truncated archive: entry '\(c.name)' has \(c.read) of \(c.size) bytes")
            }
            return n
        }
    }

    /// The next entry whole (at most `limit` bytes), or nil at the end of the archive.
    func next(limit: Int = TarReader.maxEntryBytes) throws -> (name: String, bytes: [UInt8])? {
        guard let (name, size) = try nextHeader(limit: limit) else { return nil }
        var out = [UInt8](repeating: 0, count: size)
        var filled = 0
        try out.withUnsafeMutableBytes { all in
            while filled < size {
                let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: all[filled...]))
                if n == 0 { break }
                filled += n
            }
        }
        var probe = [UInt8](repeating: 0, count: 1)
        if try probe.withUnsafeMutableBytes({ try read(into: $0) }) != 0 {
            throw StoreError.badInput(file: path, reason: "entry '\(name)' holds more than its declared \(size) bytes")
        }
        return (name, out)
    }
}
