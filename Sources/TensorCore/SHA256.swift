import CSHA256

/// SHA-256 (FIPS 180-4): content hashes for the artifact store and dataset checks.
///
/// One-shot: `SHA256.hash(bytes)` / `SHA256.hex(bytes)`. Streaming: `var h = SHA256Hasher();
/// h.update(chunk) ...; h.finalize()`. On CPUs with the x86 SHA extensions (checked once with
/// cpuid) whole blocks go through the small C shim `CSHA256` (~1.5-2 GB/s on Zen 3); elsewhere,
/// and with `SHA256Hasher(portable: true)`, the pure Swift block function below runs (~60-100 MB/s).
/// Both compute the same function; tests compare them on random lengths and chunkings.
public enum SHA256 {
    /// True when this CPU runs the hardware (SHA-NI) block function.
    public static let hardwareAccelerated: Bool = csha256_hw_available() != 0

    /// The 32-byte digest of `bytes`.
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var h = SHA256Hasher()
        h.update(bytes)
        return h.finalize()
    }

    /// The digest of `bytes` as 64 lowercase hex digits.
    public static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        hexString(hash(bytes))
    }

    /// The digest of an array of bytes.
    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { hash($0) }
    }

    /// The hex digest of an array of bytes.
    public static func hex(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { hex($0) }
    }

    /// The hex digest of a string's UTF-8 bytes.
    public static func hex(_ string: String) -> String {
        hex(Array(string.utf8))
    }

    /// Lowercase hex of any byte sequence (digests, keys).
    public static func hexString(_ digest: [UInt8]) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(digest.count * 2)
        for b in digest {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The round constants, from the C shim (one table for both block functions).
    static let k = Array(UnsafeBufferPointer(start: csha256_round_constants(), count: 64))
}

/// Incremental SHA-256: feed bytes in any chunking, then `finalize()` once.
public struct SHA256Hasher: Sendable {
    private var state: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) =
        (0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19)
    private var buffer = [UInt8](repeating: 0, count: 64)
    private var buffered = 0
    private var length: UInt64 = 0
    private let hardware: Bool

    /// A hasher using the hardware block function when the CPU has one.
    public init() { hardware = SHA256.hardwareAccelerated }

    /// With `portable: true`, always the pure Swift block function (for tests and benchmarks).
    public init(portable: Bool) { hardware = portable ? false : SHA256.hardwareAccelerated }

    /// Adds `bytes` to the message.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        length &+= UInt64(bytes.count)
        var offset = 0
        let n = bytes.count
        if buffered > 0 {
            let take = min(64 - buffered, n)
            let at = buffered
            buffer.withUnsafeMutableBytes { $0.baseAddress!.advanced(by: at).copyMemory(from: base, byteCount: take) }
            buffered += take
            offset = take
            if buffered == 64 {
                let copy = buffer
                copy.withUnsafeBytes { compress($0.baseAddress!, blocks: 1) }
                buffered = 0
            }
        }
        let blocks = (n - offset) / 64
        if blocks > 0 {
            compress(base + offset, blocks: blocks)
            offset += blocks * 64
        }
        if offset < n {
            let at = buffered
            buffer.withUnsafeMutableBytes { $0.baseAddress!.advanced(by: at).copyMemory(from: base + offset, byteCount: n - offset) }
            buffered += n - offset
        }
    }

    /// Adds an array of bytes.
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Adds a string's UTF-8 bytes.
    public mutating func update(_ string: String) {
        update(Array(string.utf8))
    }

    /// The 32-byte digest of everything fed so far (the hasher itself is left unchanged).
    public func finalize() -> [UInt8] {
        var copy = self
        let bitLength = length &* 8
        var pad: [UInt8] = [0x80]
        let padZeros = (55 &- buffered) & 63  // so that buffered + 1 + zeros == 56 (mod 64)
        pad += [UInt8](repeating: 0, count: padZeros)
        for i in (0..<8).reversed() { pad.append(UInt8(truncatingIfNeeded: bitLength >> (UInt64(i) * 8))) }
        let savedLength = copy.length
        copy.update(pad)
        copy.length = savedLength
        precondition(copy.buffered == 0, "SHA256Hasher: padding did not end on a block boundary")
        let s = copy.state
        var out = [UInt8]()
        out.reserveCapacity(32)
        for w in [s.0, s.1, s.2, s.3, s.4, s.5, s.6, s.7] {
            out.append(UInt8(truncatingIfNeeded: w >> 24)); out.append(UInt8(truncatingIfNeeded: w >> 16))
            out.append(UInt8(truncatingIfNeeded: w >> 8)); out.append(UInt8(truncatingIfNeeded: w))
        }
        return out
    }

    /// The hex digest of everything fed so far.
    public func finalizeHex() -> String { SHA256.hexString(finalize()) }

    @inline(__always)
    private static func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }

    /// Runs the block function over `blocks` consecutive 64-byte blocks at `p`.
    private mutating func compress(_ p: UnsafeRawPointer, blocks: Int) {
        if hardware {
            withUnsafeMutablePointer(to: &state) { s in
                s.withMemoryRebound(to: UInt32.self, capacity: 8) {
                    csha256_hw_blocks($0, p.assumingMemoryBound(to: UInt8.self), blocks)
                }
            }
        } else {
            for i in 0..<blocks { compressPortable(p + 64 * i) }
        }
    }

    private mutating func compressPortable(_ p: UnsafeRawPointer) {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { ws in
            for i in 0..<16 { ws[i] = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)) }
            for i in 16..<64 {
                let w15 = ws[i - 15], w2 = ws[i - 2]
                let s0 = Self.rotr(w15, 7) ^ Self.rotr(w15, 18) ^ (w15 >> 3)
                let s1 = Self.rotr(w2, 17) ^ Self.rotr(w2, 19) ^ (w2 >> 10)
                ws[i] = ws[i - 16] &+ s0 &+ ws[i - 7] &+ s1
            }
            var (a, b, c, d, e, f, g, h) = state
            SHA256.k.withUnsafeBufferPointer { k in
                for i in 0..<64 {
                    let S1 = Self.rotr(e, 6) ^ Self.rotr(e, 11) ^ Self.rotr(e, 25)
                    let ch = (e & f) ^ (~e & g)
                    let t1 = h &+ S1 &+ ch &+ k[i] &+ ws[i]
                    let S0 = Self.rotr(a, 2) ^ Self.rotr(a, 13) ^ Self.rotr(a, 22)
                    let maj = (a & b) ^ (a & c) ^ (b & c)
                    h = g; g = f; f = e; e = d &+ t1; d = c; c = b; b = a; a = t1 &+ S0 &+ maj
                }
            }
            state = (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d,
                     state.4 &+ e, state.5 &+ f, state.6 &+ g, state.7 &+ h)
        }
    }
}
