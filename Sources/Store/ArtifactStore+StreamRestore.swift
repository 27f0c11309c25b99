import NN
import TensorCore

/// One archive entry read streaming, with the SHA-256 of every byte taken from it.
final class EntryStream {
    let reader: TarReader
    let source: String
    let size: Int
    private(set) var consumed = 0
    private var sha = SHA256Hasher()

    init(_ reader: TarReader, source: String, size: Int) { self.reader = reader; self.source = source; self.size = size }

    /// Fills `buf` completely (throws if the entry ends first).
    func fill(_ buf: UnsafeMutableRawBufferPointer) throws {
        var got = 0
        while got < buf.count {
            let n = try reader.read(into: UnsafeMutableRawBufferPointer(rebasing: buf[got...]))
            guard n > 0 else { throw StoreError.badInput(file: source, reason: "ends after \(consumed + got) bytes, inside its payload") }
            got += n
        }
        sha.update(UnsafeRawBufferPointer(buf))
        consumed += got
    }

    func bytes(_ n: Int) throws -> [UInt8] {
        var b = [UInt8](repeating: 0, count: n)
        try b.withUnsafeMutableBytes { try fill($0) }
        return b
    }

    /// Reads what is left and returns the SHA-256 of the whole entry.
    func finish() throws -> String {
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = try buf.withUnsafeMutableBytes { try reader.read(into: $0) }
            if n == 0 { break }
            buf.withUnsafeBytes { sha.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            consumed += n
        }
        return sha.finalizeHex()
    }

    /// The payload's safetensors header: its tensors in data order, checked to tile the data exactly.
    func header() throws -> [SafetensorsSlot] {
        func fail(_ r: String) -> StoreError { StoreError.badInput(file: source, reason: r) }
        let len = Int(try bytes(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
        guard len >= 2, len <= Safetensors.maxHeaderSize, len <= size - 8 else { throw fail("bad safetensors header length \(len)") }
        guard let pairs = (try? OrderedJSON.parse(try bytes(len)))?.objectValue else { throw fail("safetensors header is not a JSON object") }
        var out: [(begin: Int, e: SafetensorsSlot)] = []
        for (name, v) in pairs where name != "__metadata__" {
            guard let dt = v["dtype"]?.stringValue, let dtype = SafetensorsDType(rawValue: dt),
                  let shape = v["shape"]?.arrayValue?.compactMap(\.intValue), shape.allSatisfy({ $0 >= 0 }),
                  let offs = v["data_offsets"]?.arrayValue?.compactMap(\.intValue), offs.count == 2 else {
                throw fail("tensor '\(name)': bad dtype, shape or data_offsets")
            }
            var count = dtype.byteSize
            for d in shape {
                let (m, o) = count.multipliedReportingOverflow(by: d)
                guard !o else { throw fail("tensor '\(name)': shape \(shape) overflows") }
                count = m
            }
            guard offs[1] - offs[0] == count else { throw fail("tensor '\(name)': shape \(shape) does not match data_offsets \(offs)") }
            out.append((offs[0], SafetensorsSlot(name: name, dtype: dtype, shape: shape, nbytes: count)))
        }
        out.sort { $0.begin < $1.begin }
        var cursor = 0
        for t in out {
            guard t.begin == cursor else { throw fail("tensor '\(t.e.name)': data_offsets leave a gap or overlap") }
            cursor += t.e.nbytes
        }
        guard 8 + len + cursor == size else { throw fail("tensors cover \(cursor) bytes, the entry holds \(size - 8 - len)") }
        return out.map(\.e)
    }
}

extension ArtifactStore {
    /// Inserts one archived artifact from its entry, streaming: tensor bytes go to `blob_chunk` rows
    /// `chunkBytes` at a time and bank rows to `appendTrajectories` 1024 at a time, so memory stays
    /// bounded whatever the payload's size. Same rules as `storePayload`: an equal artifact is
    /// reused, a different one of the same kind and name refused, a content hash that differs
    /// from the record's is `corrupt` (the caller's transaction then rolls everything back).
    func restoreEntry(_ s: EntryStream, like r: ArtifactRecord, parents: [ArtifactID]) throws -> (ArtifactRecord, added: Bool) {
        let entries = try s.header()
        if r.kind == ArtifactKind.trajectoryBank { return try restoreBank(s, entries, like: r, parents: parents) }
        if let existing = try artifactIfExists(kind: r.kind, name: r.name) {
            guard existing.hash == r.hash else {
                throw StoreError.conflict("\(path): a different \(r.kind) named '\(r.name)' already exists (hash \(existing.shortHash))")
            }
            return (existing, false)
        }
        let id = try insertArtifactRow(kind: r.kind, name: r.name, run: r.run, step: r.step, hash: "",
                                       size: entries.reduce(0) { $0 + $1.nbytes }, config: r.config, codeRev: r.codeRev,
                                       metadata: r.metadata, state: "complete", parents: parents, createdAt: r.createdAt)
        var content = ContentHasher(bank: false, kind: r.kind, metadata: r.metadata)
        let ins = try db.prepare("INSERT INTO blob_chunk(artifact, ordinal, chunk, data) VALUES(?, ?, ?, ?)")
        var buf = [UInt8](repeating: 0, count: max(1, min(chunkBytes, entries.map(\.nbytes).max() ?? 1)))
        for (ordinal, e) in entries.enumerated() {
            try db.execute("INSERT INTO blob(artifact, ordinal, name, dtype, shape, nbytes) VALUES(?, ?, ?, ?, ?, ?)",
                           [id, ordinal, e.name, e.dtype.rawValue, shapeJSON(e.shape), e.nbytes])
            content.blobHeader(name: e.name, dtype: e.dtype.rawValue, shape: e.shape, nbytes: e.nbytes)
            var done = 0, chunk = 0
            repeat {   // one (possibly empty) row per chunk, as `insertBlob` writes them
                let n = min(buf.count, e.nbytes - done)
                try buf.withUnsafeMutableBytes { b in
                    let part = UnsafeMutableRawBufferPointer(rebasing: b[0..<n])
                    try s.fill(part)
                    content.bytes(UnsafeRawBufferPointer(part))
                    ins.reset()
                    try ins.bind(1, id); try ins.bind(2, ordinal); try ins.bind(3, chunk)
                    try ins.bindStatic(4, UnsafeRawBufferPointer(part))
                    try ins.step()
                }
                done += n; chunk += 1
            } while done < e.nbytes
        }
        let hash = content.hex()
        guard hash == r.hash else {
            throw StoreError.corrupt(path: s.source, reason: "\(r.kind) '\(r.name)': content hash \(hash.prefix(12)) does not match the recorded \(r.shortHash)")
        }
        try db.execute("UPDATE artifact SET hash = ? WHERE id = ?", [hash, id])
        return (try artifact(id), true)
    }

    private func restoreBank(_ s: EntryStream, _ entries: [SafetensorsSlot], like r: ArtifactRecord,
                             parents: [ArtifactID]) throws -> (ArtifactRecord, added: Bool) {
        let names = entries.map(\.name)
        let dtypes: [SafetensorsDType] = [.I64, .U64, .I64, .F32, .F32]
        let n = entries.first?.shape.first ?? 0
        guard names == ["sample", "seed", "label", "guidance", "states"], entries.map(\.dtype) == dtypes,
              entries[0..<4].allSatisfy({ $0.shape == [n] }), entries[4].shape.count == 2, entries[4].shape[0] == n else {
            throw StoreError.badInput(file: s.source, reason: "bank '\(r.name)': columns must be sample I64, seed U64, label I64, guidance F32, states F32 [rows, floats], in that order")
        }
        let rf = entries[4].shape[1]
        let bank = try createOrOpenBank(name: r.name, config: r.config, rowFloats: rf, run: r.run, parents: parents)
        if bank.state == "complete" {
            guard bank.hash == r.hash else {
                throw StoreError.conflict("\(path): a different trajectory bank named '\(r.name)' already exists (hash \(bank.shortHash))")
            }
            return (bank, false)
        }
        func column<T>(_ t: T.Type) throws -> [T] { try s.bytes(n * MemoryLayout<T>.size).withUnsafeBytes { Array($0.bindMemory(to: T.self)) } }
        let samples = try column(Int64.self), seeds = try column(UInt64.self), labels = try column(Int64.self)
        let guidance = try column(Float.self)
        for start in stride(from: 0, to: n, by: 1024) {
            let rows = try (start..<min(n, start + 1024)).map { i -> TrajectoryRow in
                var states = [Float](repeating: 0, count: rf)
                try states.withUnsafeMutableBytes { try s.fill($0) }
                return TrajectoryRow(sample: Int(Int64(littleEndian: samples[i])), seed: UInt64(littleEndian: seeds[i]),
                                     label: Int(Int64(littleEndian: labels[i])), guidance: guidance[i], states: states)
            }
            try appendTrajectories(bank: bank, rows: rows)
        }
        guard r.state == "complete" else { return (try artifact(bank.id), true) }
        let done = try finalizeBank(bank)
        guard done.hash == r.hash else {
            throw StoreError.corrupt(path: s.source, reason: "bank '\(r.name)': content hash \(done.shortHash) does not match the recorded \(r.shortHash)")
        }
        return (done, true)
    }
}
