import Foundation
import Synchronization

/// Conv weights in a kernel's own layout (Winograd's G w Gᵀ, the taps' transposes), kept across calls.
///
/// A forward transforms every conv's weights again on each call, and a sampler calls the network once
/// per row group and step with the same weights: at batch 1 the Winograd weight transform (in Double)
/// was ~15% of a forward. Entries are found by the weights' exact bits (memcmp against a kept copy), so
/// a hit returns exactly what the transform would compute, and changed weights (a training step) miss.
/// Bounded: the least recently used entries go once `capacity` floats are held. Only inference uses it
/// (`conv2d` on a tape without pullbacks): in training the weights change every step.
public enum PackedWeights {
    /// Which transform of the weights an entry holds.
    public enum Kind: Hashable, Sendable {
        /// `transposed`: each position's Uᵀ follows U (`WinogradProducts.operands`).
        case winograd(m: Int, flipped: Bool, transposed: Bool)
        case taps(transposed: Bool)
    }

    struct Key: Hashable { let kind: Kind, count: Int, shape: [Int] }

    final class Entry: @unchecked Sendable {
        let source: [Float], packed: [Float]
        var lastUse: UInt64
        init(source: [Float], packed: [Float], lastUse: UInt64) { (self.source, self.packed, self.lastUse) = (source, packed, lastUse) }
    }

    struct State {
        var entries: [Key: [Entry]] = [:]
        var floats = 0, clock: UInt64 = 0
    }

    /// Floats held at most (sources and packed weights): 4M = 16 MB; the reference UNet's forward needs 1.1M.
    public static let capacity = 4 << 20
    static let state = Mutex(State())

    /// `make(weights)` for these weights and transform, from the cache when the same bits were packed before.
    public static func packed(_ weights: Tensor, _ kind: Kind, _ make: ([Float]) -> [Float]) -> [Float] {
        let key = Key(kind: kind, count: weights.count, shape: weights.shape)
        if let hit = lookup(key, weights.data) { return hit }
        let packed = make(weights.data)
        insert(key, Entry(source: weights.data, packed: packed, lastUse: 0))
        return packed
    }

    /// Empties the cache (tests; memory).
    public static func removeAll() { state.withLock { $0 = State() } }

    /// Entries held (tests).
    public static var count: Int { state.withLock { $0.entries.values.reduce(0) { $0 + $1.count } } }

    static func lookup(_ key: Key, _ w: [Float]) -> [Float]? {
        state.withLock { s in
            guard let list = s.entries[key] else { return nil }
            for e in list where sameBits(e.source, w) {
                s.clock += 1
                e.lastUse = s.clock
                return e.packed
            }
            return nil
        }
    }

    static func insert(_ key: Key, _ e: Entry) {
        let size = e.source.count + e.packed.count
        guard size <= capacity / 4 else { return }
        state.withLock { s in
            s.clock += 1
            e.lastUse = s.clock
            s.entries[key, default: []].append(e)
            s.floats += size
            while s.floats > capacity { evictOldest(&s) }
        }
    }

    static func evictOldest(_ s: inout State) {
        var oldest: (Key, Int, UInt64)? = nil
        for (k, list) in s.entries {
            for (i, e) in list.enumerated() where oldest == nil || e.lastUse < oldest!.2 { oldest = (k, i, e.lastUse) }
        }
        guard let (k, i, _) = oldest else { s.floats = 0; return }
        let e = s.entries[k]!.remove(at: i)
        if s.entries[k]!.isEmpty { s.entries[k] = nil }
        s.floats -= e.source.count + e.packed.count
    }

    @inline(__always)
    static func sameBits(_ a: [Float], _ b: [Float]) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in memcmp(pa.baseAddress!, pb.baseAddress!, pa.count) == 0 } }
    }
}
