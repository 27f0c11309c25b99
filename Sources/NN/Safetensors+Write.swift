#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One tensor's place in a safetensors file, described without its bytes.
public struct SafetensorsSlot: Sendable, Equatable {
    public var name: String
    public var dtype: SafetensorsDType
    public var shape: [Int]
    public var nbytes: Int

    public init(name: String, dtype: SafetensorsDType, shape: [Int], nbytes: Int) {
        (self.name, self.dtype, self.shape, self.nbytes) = (name, dtype, shape, nbytes)
    }
}

extension Safetensors {
    /// Entries in the order the Python package writes them: larger dtypes first (its `Dtype` enum
    /// order, descending), then by name bytewise.
    public static func pythonOrder(_ entries: [SafetensorsEntry]) -> [SafetensorsEntry] {
        entries.sorted { a, b in
            if a.dtype != b.dtype { return a.dtype.sortRank > b.dtype.sortRank }
            return Array(a.name.utf8).lexicographicallyPrecedes(Array(b.name.utf8))
        }
    }

    /// The header bytes (8-byte length + space-padded JSON) for entries laid out in the given order.
    /// Throws on duplicate names, `__metadata__` as a tensor name, or a byte count that does not
    /// match the shape.
    public static func encodeHeader(_ file: SafetensorsFile, destination: String = "<memory>") throws -> [UInt8] {
        func fail(_ reason: String) -> SafetensorsError { SafetensorsError(file: destination, reason: reason) }
        var names = Set<String>()
        var slots: [SafetensorsSlot] = []
        for e in file.entries {
            guard e.name != "__metadata__", names.insert(e.name).inserted else {
                throw fail("duplicate or reserved tensor name '\(e.name)'")
            }
            let count = e.shape.reduce(1, *)
            guard e.shape.allSatisfy({ $0 >= 0 }), count * e.dtype.byteSize == e.bytes.count else {
                throw fail("tensor '\(e.name)': shape \(e.shape) of \(e.dtype.rawValue) does not match \(e.bytes.count) bytes")
            }
            slots.append(SafetensorsSlot(name: e.name, dtype: e.dtype, shape: e.shape, nbytes: e.bytes.count))
        }
        return header(metadata: file.metadata, slots: slots)
    }

    /// The header bytes for tensors laid out one after another in `slots` order, `metadata` first when
    /// given: an 8-byte little-endian length, then the JSON, space-padded to a multiple of 8 bytes. It
    /// checks nothing (`encodeHeader` does); the store streams payloads with it, their bytes never in memory.
    public static func header(metadata: [(key: String, value: String)]? = nil, slots: [SafetensorsSlot]) -> [UInt8] {
        var pairs: [(String, OrderedJSON)] = []
        if let m = metadata {
            pairs.append(("__metadata__", .object(m.map { ($0.key, OrderedJSON.string($0.value)) })))
        }
        var offset = 0
        for e in slots {
            pairs.append((e.name, .object([
                ("dtype", .string(e.dtype.rawValue)),
                ("shape", .array(e.shape.map { OrderedJSON($0) })),
                ("data_offsets", .array([OrderedJSON(offset), OrderedJSON(offset + e.nbytes)])),
            ])))
            offset += e.nbytes
        }
        var json = [UInt8]()
        OrderedJSON.object(pairs).write(to: &json)
        json += [UInt8](repeating: 32, count: (8 - json.count % 8) % 8)
        var out = [UInt8]()
        out.reserveCapacity(8 + json.count)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out += $0 }
        out += json
        return out
    }

    /// The complete file bytes, entries in the given order (use `pythonOrder` first to match PyTorch).
    public static func encode(_ file: SafetensorsFile) throws -> [UInt8] {
        var out = try encodeHeader(file)
        for e in file.entries { out += e.bytes }
        return out
    }

    /// Writes `file` to `path` atomically (a temporary file in the same directory, then rename).
    /// With `pythonOrder: true` (the default) tensors are sorted as PyTorch's package sorts them;
    /// pass false to keep the given order (for example to reproduce an imported file exactly).
    public static func write(_ file: SafetensorsFile, to path: String, pythonOrder sort: Bool = true) throws {
        var f = file
        if sort { f.entries = pythonOrder(f.entries) }
        let header = try encodeHeader(f, destination: path)
        try writeAtomically(path: path, parts: [header] + f.entries.map(\.bytes))
    }

    /// Writes `parts` one after another to `path` through a temporary file and a rename.
    public static func writeAtomically(path: String, parts: [[UInt8]]) throws {
        func fail(_ reason: String) -> SafetensorsError { SafetensorsError(file: path, reason: reason) }
        let tmp = path + ".tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw fail("cannot create: \(String(cString: strerror(errno)))") }
        var ok = false
        defer { if !ok { unlink(tmp) } }
        do {
            defer { close(fd) }
            for part in parts {
                try part.withUnsafeBytes { p in
                    var done = 0
                    while done < p.count {
                        let r = Glibc.write(fd, p.baseAddress! + done, p.count - done)
                        if r < 0 && errno == EINTR { continue }
                        guard r > 0 else { throw fail("write failed: \(String(cString: strerror(errno)))") }
                        done += r
                    }
                }
            }
        }
        guard rename(tmp, path) == 0 else { throw fail("cannot rename into place: \(String(cString: strerror(errno)))") }
        ok = true
    }
}
