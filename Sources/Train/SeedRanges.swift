/// The compact text of a seed list, runs of consecutive seeds written as ranges ("0-63,100"): EDM's
/// `--seeds` syntax, which messages and metadata use to name samples.
public enum SeedRanges {
    public static func text(_ seeds: [UInt64]) -> String {
        var parts: [String] = []
        var i = 0
        while i < seeds.count {
            var j = i
            while j + 1 < seeds.count && seeds[j + 1] == seeds[j] &+ 1 { j += 1 }
            parts.append(j > i ? "\(seeds[i])-\(seeds[j])" : "\(seeds[i])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }
}
