import NN
import TensorCore

/// The canonical encodings hashed into an artifact's content hash (SHA-256, hex).
///
/// Tensor artifacts: "flowsteer-artifact-v1\0" kind "\0" metadata "\0", then per tensor in
/// order: name "\0" dtype "\0" shape-JSON "\0" byte count (u64 LE) bytes.
/// Trajectory banks: "flowsteer-bank-v1\0" kind "\0" metadata "\0", then per row in sample order:
/// sample (i64 LE) seed (u64 LE) label (i64 LE) guidance (f32 LE bits) byte count (u64 LE) states.
/// Names, runs, steps and times are labels, not content, and are not hashed.
struct ContentHasher {
    var h = SHA256Hasher()

    init(bank: Bool, kind: String, metadata: String) {
        h.update(bank ? "flowsteer-bank-v1\0" : "flowsteer-artifact-v1\0")
        h.update(kind + "\0" + metadata + "\0")
    }

    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { h.update($0) } }

    mutating func blobHeader(name: String, dtype: String, shape: [Int], nbytes: Int) {
        h.update(name + "\0" + dtype + "\0" + shapeJSON(shape) + "\0")
        u64(UInt64(nbytes))
    }

    mutating func bytes(_ p: UnsafeRawBufferPointer) { h.update(p) }

    mutating func row(sample: Int, seed: UInt64, label: Int, guidance: Float, states: UnsafeRawBufferPointer) {
        u64(UInt64(bitPattern: Int64(sample))); u64(seed); u64(UInt64(bitPattern: Int64(label)))
        withUnsafeBytes(of: guidance.bitPattern.littleEndian) { h.update($0) }
        u64(UInt64(states.count))
        h.update(states)
    }

    func hex() -> String { h.finalizeHex() }
}

func shapeJSON(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ",") + "]" }

func parseShape(_ s: String) -> [Int]? {
    guard let a = (try? OrderedJSON.parse(s))?.arrayValue else { return nil }
    let dims = a.compactMap(\.intValue)
    return dims.count == a.count ? dims : nil
}

/// Validates JSON text and returns it unchanged (empty means "{}").
func checkedJSON(_ text: String, what: String) throws -> String {
    if text.isEmpty { return "{}" }
    do { _ = try OrderedJSON.parse(text) } catch {
        throw StoreError.badInput(file: what, reason: "not valid JSON: \(error)")
    }
    return text
}
