import Foundation

/// Memory planning before big allocations: a tool estimates the bytes a command line needs and refuses
/// it (exit 2, saying what would fit) instead of being killed by the OOM killer half way through,
/// with its run left `running`.
///
/// The budget is the smallest of physical memory, the cgroup limit (`memory.max`, containers and Slurm
/// jobs), and `$FS_MEMORY_LIMIT` (bytes, or with a K/M/G suffix), times `usableShare` for the
/// process's other needs (code, BLAS buffers, the store's page cache).
public enum MemoryBudget {
    public static let usableShare = 0.8

    /// The bytes this process may plan to use.
    public static func available(environment: [String: String] = ProcessInfo.processInfo.environment,
                                 cgroupFile: String = "/sys/fs/cgroup/memory.max") -> Double {
        var limit = Double(ProcessInfo.processInfo.physicalMemory)
        if let text = try? String(contentsOfFile: cgroupFile, encoding: .utf8),
           let v = Double(text.trimmingCharacters(in: .whitespacesAndNewlines)), v > 0 {
            limit = min(limit, v)
        }
        if let env = environment["FS_MEMORY_LIMIT"], let v = parseBytes(env) { limit = min(limit, v) }
        return limit * usableShare
    }

    /// "8G", "512M", "1000000" -> bytes; nil when unreadable.
    public static func parseBytes(_ text: String) -> Double? {
        let t = text.trimmingCharacters(in: .whitespaces).uppercased()
        let units: [Character: Double] = ["K": 1024, "M": 1_048_576, "G": 1_073_741_824, "T": 1_099_511_627_776]
        if let u = t.last, let scale = units[u], let v = Double(t.dropLast()), v > 0 { return v * scale }
        if let v = Double(t), v > 0 { return v }
        return nil
    }

    /// "1.5 GB" (binary units, as `free -h`).
    public static func format(_ bytes: Double) -> String {
        let units = ["bytes", "KB", "MB", "GB", "TB", "PB"]
        var v = bytes, i = 0
        while v >= 1024 && i < units.count - 1 { v /= 1024; i += 1 }
        return i == 0 ? "\(Int(v)) bytes" : String(format: "%.1f %@", v, units[i])
    }

    /// Refuses (usage error, exit 2) when `bytes(value)` exceeds the budget, naming the flag, the
    /// estimate, the budget and the largest value of the flag that fits (found by bisection, since
    /// estimates grow with the value).
    public static func check(_ flag: String, value: Int, minimum: Int = 1, budget: Double = available(),
                             bytes: (Int) -> Double) throws {
        let need = bytes(value)
        guard need > budget else { return }
        var lo = minimum - 1, hi = value   // bytes(lo) fits (or lo is below the minimum), bytes(hi) does not
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2
            if bytes(mid) <= budget { lo = mid } else { hi = mid }
        }
        let fits = lo >= minimum ? "at most \(flag) \(lo) fits" : "not even \(flag) \(minimum) fits"
        throw ToolError.usage("\(flag) \(value) needs about \(format(need)) of memory, more than the \(format(budget)) "
                              + "available (physical memory, cgroup limit or $FS_MEMORY_LIMIT, x\(usableShare)); \(fits)")
    }
}
