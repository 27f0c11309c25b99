import Foundation
import ArgumentParser
import Train

/// A list of seeds in EDM's syntax: comma-separated integers and inclusive ranges, e.g. "0-63" or
/// "1,2,5-10". Sample i of a run uses `seeds[i]`, so the same seed always gives the same sample no
/// matter how a job is split into shards.
public struct SeedList: Sendable, Equatable, CustomStringConvertible, ExpressibleByArgument {
    public let seeds: [UInt64]

    /// Guards against typos like "0-1000000000" allocating gigabytes.
    public static let maxCount = 10_000_000

    public init(_ seeds: [UInt64]) { self.seeds = seeds }

    /// Parses the syntax; throws `ValidationError` (a usage error) naming the bad part.
    public init(parsing text: String) throws {
        var seeds: [UInt64] = []
        var seen = Set<UInt64>()
        func add(_ s: UInt64) throws {
            guard seen.insert(s).inserted else { throw ValidationError("seed \(s) appears twice in '\(text)'") }
            seeds.append(s)
            guard seeds.count <= Self.maxCount else {
                throw ValidationError("'\(text)' lists more than \(Self.maxCount) seeds")
            }
        }
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        for raw in parts {
            let part = raw.trimmingCharacters(in: .whitespaces)
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            if bounds.count == 1, let v = UInt64(part) {
                try add(v)
            } else if bounds.count == 2, let a = UInt64(bounds[0]), let b = UInt64(bounds[1]) {
                guard a <= b else { throw ValidationError("range '\(part)' in '\(text)' is empty (start > end)") }
                guard b - a < UInt64(Self.maxCount) else {
                    throw ValidationError("'\(text)' lists more than \(Self.maxCount) seeds")
                }
                for s in a...b { try add(s) }
            } else {
                throw ValidationError("'\(part)' in '\(text)' is not a seed (N) or range (A-B); example: 0-63 or 1,2,5-10")
            }
        }
        self.seeds = seeds
    }

    public init?(argument: String) { try? self.init(parsing: argument) }

    public var count: Int { seeds.count }

    /// The compact form, runs of consecutive seeds written as ranges ("0-63,100").
    public var description: String { SeedRanges.text(seeds) }

    /// Contiguous shard `index` of `count` (for Slurm array tasks): sizes differ by at most one.
    public func shard(_ index: Int, of count: Int) -> SeedList {
        precondition(count >= 1 && index >= 0 && index < count, "SeedList.shard: \(index) of \(count)")
        let n = seeds.count
        let lo = index * n / count, hi = (index + 1) * n / count
        return SeedList(Array(seeds[lo..<hi]))
    }
}
