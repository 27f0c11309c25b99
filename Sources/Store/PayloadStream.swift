import NN
import TensorCore

/// Streams one archive entry of a known size: bytes are gathered into 8 MB buffers; each full
/// buffer is hashed (SHA-256) on a background thread while this thread hands it to the archive
/// writer (zstd), so hashing and compression overlap and no payload is ever held whole in memory.
final class HashingEntrySink {
    private static let bufferBytes = 8 << 20
    private let writer: TarZstWriter
    private let size: Int
    private var buffers: [UnsafeMutableRawBufferPointer]
    private var current = 0
    private var fill = 0
    private var written = 0
    private var hasher = SHA256Hasher()
    private var hashing: BackgroundTask<SHA256Hasher>?

    init(writer: TarZstWriter, name: String, size: Int, mtime: Int) throws {
        self.writer = writer
        self.size = size
        buffers = (0..<2).map { _ in .allocate(byteCount: Self.bufferBytes, alignment: 64) }
        try writer.beginEntry(name: name, size: size, mtime: mtime)
    }

    deinit {
        _ = hashing?.wait()   // the background hash may still read a buffer
        for b in buffers { b.deallocate() }
    }

    func append(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = min(bytes.count - offset, Self.bufferBytes - fill)
            UnsafeMutableRawBufferPointer(rebasing: buffers[current][fill..<(fill + n)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]))
            fill += n
            offset += n
            if fill == Self.bufferBytes { try flush() }
        }
    }

    func append(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try append($0) } }

    /// Hashes (in the background) and compresses the current buffer, then switches buffers.
    private func flush() throws {
        guard fill > 0 else { return }
        written += fill
        guard written <= size else { throw StoreError.corrupt(path: writer.path, reason: "payload grew past its \(size) bytes while archiving") }
        // The previous buffer's hash must be done before its hasher state continues here; the
        // buffer we switch to next is then free (its compression finished on this thread).
        if let h = hashing { hasher = h.wait() }
        let chunk = UnsafeSendable(UnsafeRawBufferPointer(rebasing: buffers[current][0..<fill]))
        let start = hasher
        hashing = BackgroundTask { var h = start; h.update(chunk.value); return h }
        try writer.writeData(chunk.value)
        current ^= 1
        fill = 0
    }

    /// Writes what is left and returns the entry's SHA-256 (hex); throws if fewer than `size` bytes came.
    func finish() throws -> String {
        try flush()
        if let h = hashing { hasher = h.wait(); hashing = nil }
        guard written == size else {
            throw StoreError.corrupt(path: writer.path, reason: "payload has \(written) of its \(size) bytes (changed while archiving?)")
        }
        return hasher.finalizeHex()
    }
}

extension ArtifactStore {
    /// Writes artifact `id`'s payload file (the bytes of `Safetensors.encode(payload(a))`) into the
    /// archive as `file`, streaming rows or chunks from SQLite in one read snapshot; returns the
    /// record read in that snapshot, the file's SHA-256 and its size.
    func archivePayload(_ id: ArtifactID, file: String, to w: TarZstWriter, mtime: Int) throws -> (ArtifactRecord, sha256: String, bytes: Int) {
        let body = { () throws -> (ArtifactRecord, sha256: String, bytes: Int) in
            let a = try self.artifact(id)
            return a.kind == ArtifactKind.trajectoryBank
                ? try self.archiveBank(a, file: file, to: w, mtime: mtime)
                : try self.archiveTensors(a, file: file, to: w, mtime: mtime)
        }
        return db.isInTransaction ? try body() : try readTransaction(body)
    }

    private func archiveBank(_ a: ArtifactRecord, file: String, to w: TarZstWriter, mtime: Int) throws -> (ArtifactRecord, sha256: String, bytes: Int) {
        let rf = try rowFloats(a)
        var samples: [Int64] = [], seeds: [UInt64] = [], labels: [Int64] = [], guidance: [Float] = []
        let cols = try db.prepare("SELECT sample, seed, label, guidance FROM trajectory_row WHERE bank = ? ORDER BY sample")
        try cols.bind(1, a.id)
        while try cols.step() {
            samples.append(Int64(cols.int64(0)).littleEndian); seeds.append(UInt64(bitPattern: cols.int64(1)).littleEndian)
            labels.append(Int64(cols.int64(2)).littleEndian); guidance.append(Float(cols.double(3)))
        }
        let n = samples.count
        let entries = [SafetensorsSlot(name: "sample", dtype: .I64, shape: [n], nbytes: n * 8),
                       SafetensorsSlot(name: "seed", dtype: .U64, shape: [n], nbytes: n * 8),
                       SafetensorsSlot(name: "label", dtype: .I64, shape: [n], nbytes: n * 8),
                       SafetensorsSlot(name: "guidance", dtype: .F32, shape: [n], nbytes: n * 4),
                       SafetensorsSlot(name: "states", dtype: .F32, shape: [n, rf], nbytes: n * rf * 4)]
        let header = Safetensors.header(slots: entries)
        let size = header.count + entries.reduce(0) { $0 + $1.nbytes }
        let sink = try HashingEntrySink(writer: w, name: file, size: size, mtime: mtime)
        try sink.append(header)
        try samples.withUnsafeBytes { try sink.append($0) }
        try seeds.withUnsafeBytes { try sink.append($0) }
        try labels.withUnsafeBytes { try sink.append($0) }
        try guidance.withUnsafeBytes { try sink.append($0) }
        let st = try db.prepare("SELECT states FROM trajectory_row WHERE bank = ? ORDER BY sample")
        try st.bind(1, a.id)
        var i = 0
        // The content hash too: a backup must never hold bytes altered inside the store.
        var content = ContentHasher(bank: true, kind: a.kind, metadata: a.metadata)
        while try st.step() {
            let b = st.blob(0)
            guard i < n, b.count == rf * 4 else {
                throw StoreError.corrupt(path: path, reason: "bank '\(a.name)' row \(i) has \(b.count) bytes, expected \(rf * 4)")
            }
            content.row(sample: Int(Int64(littleEndian: samples[i])), seed: UInt64(littleEndian: seeds[i]),
                        label: Int(Int64(littleEndian: labels[i])), guidance: guidance[i], states: b)
            try sink.append(b)
            i += 1
        }
        try checkContent(a, hash: content.hex(), size: i * rf * 4)
        return (a, try sink.finish(), size)
    }

    private func archiveTensors(_ a: ArtifactRecord, file: String, to w: TarZstWriter, mtime: Int) throws -> (ArtifactRecord, sha256: String, bytes: Int) {
        var entries: [SafetensorsSlot] = [], ordinals: [Int] = []
        let st = try db.prepare("SELECT ordinal, name, dtype, shape, nbytes FROM blob WHERE artifact = ? ORDER BY ordinal")
        try st.bind(1, a.id)
        while try st.step() {
            guard let dtype = SafetensorsDType(rawValue: st.string(2)), let shape = parseShape(st.string(3)) else {
                throw StoreError.corrupt(path: path, reason: "artifact \(a.id) tensor '\(st.string(1))': bad dtype or shape")
            }
            entries.append(SafetensorsSlot(name: st.string(1), dtype: dtype, shape: shape, nbytes: st.int(4)))
            ordinals.append(st.int(0))
        }
        let header = Safetensors.header(slots: entries)
        let size = header.count + entries.reduce(0) { $0 + $1.nbytes }
        let sink = try HashingEntrySink(writer: w, name: file, size: size, mtime: mtime)
        try sink.append(header)
        let chunks = try db.prepare("SELECT data FROM blob_chunk WHERE artifact = ? AND ordinal = ? ORDER BY chunk")
        var content = ContentHasher(bank: false, kind: a.kind, metadata: a.metadata)
        for (e, ordinal) in zip(entries, ordinals) {
            chunks.reset()
            try chunks.bind(1, a.id); try chunks.bind(2, ordinal)
            content.blobHeader(name: e.name, dtype: e.dtype.rawValue, shape: e.shape, nbytes: e.nbytes)
            var got = 0
            while try chunks.step() {
                let b = chunks.blob(0)
                got += b.count
                guard got <= e.nbytes else { break }
                content.bytes(b)
                try sink.append(b)
            }
            guard got == e.nbytes else {
                throw StoreError.corrupt(path: path, reason: "artifact \(a.id) tensor '\(e.name)': stored bytes do not add up to \(e.nbytes)")
            }
        }
        try checkContent(a, hash: content.hex(), size: entries.reduce(0) { $0 + $1.nbytes })
        return (a, try sink.finish(), size)
    }
}
