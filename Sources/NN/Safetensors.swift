import TensorCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Read and write `.safetensors` exactly as PyTorch's `safetensors` package does:
/// an 8-byte little-endian header length N, N bytes of JSON (`{"__metadata__": {str: str},
/// name: {"dtype", "shape", "data_offsets": [begin, end]}}`, padded with spaces to a multiple
/// of 8), then the raw little-endian tensor bytes, packed in header order.
///
///     let file = try Safetensors.read(path: "unet.safetensors")      // raw entries + metadata
///     let (sd, meta) = try Safetensors.readStateDict(path: "unet.safetensors")  // F32 only
///     try Safetensors.write(stateDict: sd, metadata: [("format", "pt")], to: "out.safetensors")
///
/// Every malformed input throws `SafetensorsError` naming the file; nothing traps.
public enum Safetensors {
    /// The largest header accepted (the Python package's limit).
    public static let maxHeaderSize = 100_000_000

    /// Reads a whole file with one `read` and parses it.
    public static func read(path: String) throws -> SafetensorsFile {
        let bytes = try readWholeFile(path, errorFile: path)
        return try bytes.withUnsafeBytes { try parse($0, source: path) }
    }

    /// Parses safetensors bytes; `source` names the input in error messages.
    public static func parse(_ buf: UnsafeRawBufferPointer, source: String) throws -> SafetensorsFile {
        func fail(_ reason: String) -> SafetensorsError { SafetensorsError(file: source, reason: reason) }
        guard buf.count >= 8 else {
            throw fail("truncated file: \(buf.count) bytes, need at least 8 for the header length")
        }
        let n64 = UInt64(littleEndian: buf.loadUnaligned(as: UInt64.self))
        guard n64 <= UInt64(maxHeaderSize) else { throw fail("header length \(n64) exceeds the \(maxHeaderSize)-byte limit") }
        let n = Int(n64)
        guard n <= buf.count - 8 else {
            throw fail("header length \(n) runs past the end of the file (\(buf.count) bytes)")
        }
        guard n >= 2, buf[8] == UInt8(ascii: "{") else { throw fail("header is not a JSON object") }
        let header: OrderedJSON
        do {
            header = try OrderedJSON.parse(Array(UnsafeRawBufferPointer(rebasing: buf[8..<(8 + n)])))
        } catch let e as JSONParseError {
            throw fail("invalid JSON header: \(e)")
        }
        guard let pairs = header.objectValue else { throw fail("header is not a JSON object") }
        let dataStart = 8 + n
        let dataSize = buf.count - dataStart

        var metadata: [(key: String, value: String)]? = nil
        var infos: [(name: String, dtype: SafetensorsDType, shape: [Int], begin: Int, end: Int)] = []
        var seen = Set<String>()
        for (name, value) in pairs {
            guard seen.insert(name).inserted else { throw fail("duplicate key '\(name)' in header") }
            if name == "__metadata__" {
                guard let m = value.objectValue else { throw fail("__metadata__ is not an object") }
                metadata = try m.map { k, v in
                    guard let s = v.stringValue else { throw fail("__metadata__ value for '\(k)' is not a string") }
                    return (k, s)
                }
                continue
            }
            guard value.objectValue != nil else { throw fail("tensor '\(name)': entry is not an object") }
            guard let dt = value["dtype"]?.stringValue else { throw fail("tensor '\(name)': missing dtype") }
            guard let dtype = SafetensorsDType(rawValue: dt) else { throw fail("tensor '\(name)': unknown dtype '\(dt)'") }
            guard let shapeJSON = value["shape"]?.arrayValue else { throw fail("tensor '\(name)': missing shape") }
            let shape = try shapeJSON.map { v -> Int in
                guard let d = v.intValue, d >= 0 else { throw fail("tensor '\(name)': bad dimension in shape") }
                return d
            }
            guard let offs = value["data_offsets"]?.arrayValue, offs.count == 2,
                  let begin = offs[0].intValue, let end = offs[1].intValue, begin >= 0, end >= begin
            else { throw fail("tensor '\(name)': data_offsets must be [begin, end] with 0 <= begin <= end") }
            guard end <= dataSize else {
                throw fail("tensor '\(name)': data_offsets [\(begin), \(end)] out of bounds (data section is \(dataSize) bytes)")
            }
            var count = 1
            for d in shape {
                let (m, o) = count.multipliedReportingOverflow(by: d)
                guard !o else { throw fail("tensor '\(name)': shape \(shape) overflows") }
                count = m
            }
            let (want, o) = count.multipliedReportingOverflow(by: dtype.byteSize)
            guard !o, want == end - begin else {
                throw fail("tensor '\(name)': shape \(shape) of \(dt) needs \(o ? -1 : want) bytes but data_offsets span \(end - begin)")
            }
            infos.append((name, dtype, shape, begin, end))
        }
        // Offsets must tile the data section exactly, in order (no gaps, no overlaps).
        let ordered = infos.sorted { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var cursor = 0
        for t in ordered {
            if t.begin < cursor { throw fail("tensor '\(t.name)': data_offsets [\(t.begin), \(t.end)] overlap the previous tensor (ends at \(cursor))") }
            if t.begin > cursor { throw fail("tensor '\(t.name)': gap before data_offsets [\(t.begin), \(t.end)] (previous tensor ends at \(cursor))") }
            cursor = t.end
        }
        guard cursor == dataSize else {
            throw fail("data section is \(dataSize) bytes but the tensors cover \(cursor)")
        }
        let entries = infos.map { t in
            SafetensorsEntry(name: t.name, dtype: t.dtype, shape: t.shape,
                             bytes: Array(UnsafeRawBufferPointer(rebasing: buf[(dataStart + t.begin)..<(dataStart + t.end)])))
        }
        return SafetensorsFile(entries: entries, metadata: metadata)
    }
}

/// The bytes of a whole file in one `read` loop; errors name `errorFile`.
fileprivate func readWholeFile(_ path: String, errorFile: String) throws -> [UInt8] {
    func fail(_ reason: String) -> SafetensorsError { SafetensorsError(file: errorFile, reason: reason) }
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw fail("cannot open: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw fail("cannot stat: \(String(cString: strerror(errno)))") }
    let size = Int(st.st_size)
    var bytes = [UInt8](repeating: 0, count: size)
    var got = 0
    try bytes.withUnsafeMutableBytes { p in
        while got < size {
            let r = read(fd, p.baseAddress! + got, size - got)
            if r < 0 && errno == EINTR { continue }
            guard r > 0 else { throw fail(r == 0 ? "file shrank while reading" : "read failed: \(String(cString: strerror(errno)))") }
            got += r
        }
    }
    return bytes
}

/// Element types of the safetensors format (the Python package's names, in its sort order).
public enum SafetensorsDType: String, CaseIterable, Sendable {
    case BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .BOOL, .U8, .I8, .F8_E5M2, .F8_E4M3: return 1
        case .I16, .U16, .F16, .BF16: return 2
        case .I32, .U32, .F32: return 4
        case .F64, .I64, .U64: return 8
        }
    }

    /// Position in the Python package's `Dtype` enum: its writer puts larger ranks first.
    var sortRank: Int { Self.allCases.firstIndex(of: self)! }
}

/// One tensor as stored: name, dtype, shape and raw little-endian bytes.
public struct SafetensorsEntry: Sendable, Equatable {
    public var name: String
    public var dtype: SafetensorsDType
    public var shape: [Int]
    public var bytes: [UInt8]

    public init(name: String, dtype: SafetensorsDType, shape: [Int], bytes: [UInt8]) {
        self.name = name; self.dtype = dtype; self.shape = shape; self.bytes = bytes
    }

    /// A float32 tensor's entry (little-endian bytes).
    public init(name: String, tensor: Tensor) {
        self.init(name: name, dtype: .F32, shape: tensor.shape, bytes: tensor.data.littleEndianBytes)
    }

    /// The values as a float32 `Tensor`; throws unless the dtype is F32.
    public func tensor(file: String = "<memory>") throws -> Tensor {
        guard dtype == .F32 else {
            throw SafetensorsError(file: file, reason: "tensor '\(name)' is \(dtype.rawValue), expected F32")
        }
        var data = [Float](repeating: 0, count: bytes.count / 4)
        data.withUnsafeMutableBytes { dst in bytes.withUnsafeBytes { dst.copyMemory(from: $0) } }
        #if _endian(big)
        data = data.map { Float(bitPattern: UInt32(littleEndian: $0.bitPattern)) }
        #endif
        return Tensor(shape: shape, data: data)
    }
}

/// A parsed file: entries in data order, and the `__metadata__` map (nil when absent), in file order.
public struct SafetensorsFile: Sendable, Equatable {
    public var entries: [SafetensorsEntry]
    public var metadata: [(key: String, value: String)]?

    public init(entries: [SafetensorsEntry], metadata: [(key: String, value: String)]? = nil) {
        self.entries = entries; self.metadata = metadata
    }

    public static func == (a: SafetensorsFile, b: SafetensorsFile) -> Bool {
        guard a.entries == b.entries else { return false }
        switch (a.metadata, b.metadata) {
        case (nil, nil): return true
        case let (x?, y?): return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    /// The entry named `name`, if any.
    public func entry(_ name: String) -> SafetensorsEntry? { entries.first { $0.name == name } }

    /// The metadata value under `key`, if any.
    public func metadataValue(_ key: String) -> String? { metadata?.first { $0.key == key }?.value }
}

/// A malformed or unreadable safetensors input; the message names the file.
public struct SafetensorsError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var reason: String
    public init(file: String, reason: String) { self.file = file; self.reason = reason }
    public var description: String { "\(file): \(reason)" }
}

extension Array where Element == Float {
    /// The values' little-endian bytes.
    var littleEndianBytes: [UInt8] {
        #if _endian(big)
        let swapped = map { Float(bitPattern: $0.bitPattern.byteSwapped) }
        return swapped.withUnsafeBytes { [UInt8]($0) }
        #else
        return withUnsafeBytes { [UInt8]($0) }
        #endif
    }
}
