import ArgumentParser
import Foundation

/// `--shard i/n`: the i-th (0-based) of n contiguous parts.
struct Shard: Sendable, Equatable, CustomStringConvertible {
    let index: Int, count: Int

    init(index: Int, count: Int) { (self.index, self.count) = (index, count) }

    init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, i >= 0, i < n else {
            throw ValidationError("--shard '\(text)' is not i/n with 0 <= i < n (e.g. 0/4)")
        }
        (index, count) = (i, n)
    }

    var description: String { "\(index)/\(count)" }
}

/// `--cfg-range LO,HI` or `W` (LO == HI == W).
struct GuidanceRange: Sendable, Equatable {
    let lo: Float, hi: Float

    init(lo: Float, hi: Float) { (self.lo, self.hi) = (lo, hi) }

    init(parsing text: String) throws {
        let values = text.split(separator: ",", omittingEmptySubsequences: false)
            .map { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard (1...2).contains(values.count), values.allSatisfy({ $0 != nil && $0!.isFinite && $0! >= 0 }) else {
            throw ValidationError("--cfg-range '\(text)' is not LO,HI or W (non-negative numbers, e.g. 1,2)")
        }
        let lo = values[0]!, hi = values.last!!
        guard lo <= hi else { throw ValidationError("--cfg-range '\(text)': LO must not exceed HI") }
        (self.lo, self.hi) = (lo, hi)
    }
}
