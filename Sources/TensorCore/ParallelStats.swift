import Foundation
import Synchronization

/// `FS_PARALLEL_STATS=1`: counts the parallel regions (`parallelChunks` / `parallelItems`), the wall time
/// inside them and the serial gaps between them, by duration, and prints that to stderr at exit. Outside
/// the regions one thread works (issue 23: where the second core idles).
enum ParallelStats {
    static let enabled: Bool = {
        guard ProcessInfo.processInfo.environment["FS_PARALLEL_STATS"] == "1" else { return false }
        _ = start
        atexit { ParallelStats.report() }
        return true
    }()

    static let start = now()
    static let lastEnd = Atomic<Int>(0)
    static let busy = Atomic<Int>(0)          // participants' own time in the regions
    static let offered = Atomic<Int>(0)       // regions' wall time x participants
    /// [count, ns] per bucket: below 20 us, 100 us, 1 ms, 10 ms, and above; regions then gaps.
    static let limits = [20_000, 100_000, 1_000_000, 10_000_000, Int.max]
    static let buckets = Mutex<[Int]>([Int](repeating: 0, count: 20))  // regions 0..<10, gaps 10..<20

    static func now() -> Int { Int(DispatchTime.now().uptimeNanoseconds) }

    static func add(_ base: Int, _ ns: Int) {
        let b = limits.firstIndex { ns < $0 } ?? limits.count - 1
        buckets.withLock { $0[base + 2 * b] += 1; $0[base + 2 * b + 1] += ns }
    }

    static func record(since t0: Int, participants: Int) {
        let t1 = now()
        offered.add((t1 - t0) * participants, ordering: .relaxed)
        add(0, t1 - t0)
        let last = lastEnd.exchange(t1, ordering: .relaxed)
        if last > 0, t0 > last { add(10, t0 - last) }
    }

    static func report() {
        var out = String(format: "parallel stats over %.3f s of wall time (count / seconds):\n",
                         Double(now() - start) / 1e9)
        let counts = buckets.withLock { $0 }
        for (name, base) in [("regions", 0), ("serial gaps", 10)] {
            var total = (0, 0)
            out += "  \(name):"
            for (i, limit) in limits.enumerated() {
                let (n, ns) = (counts[base + 2 * i], counts[base + 2 * i + 1])
                total = (total.0 + n, total.1 + ns)
                out += " <\(limit == Int.max ? "inf" : "\(limit / 1000)us") \(n) / " + String(format: "%.3f;", Double(ns) / 1e9)
            }
            out += String(format: " total %d / %.3f\n", total.0, Double(total.1) / 1e9)
        }
        let (o, b) = (offered.load(ordering: .relaxed), busy.load(ordering: .relaxed))
        out += String(format: "  thread-seconds in regions %.3f, participants busy %.3f (idle at joins and wake-ups %.1f%%)\n",
                      Double(o) / 1e9, Double(b) / 1e9, o > 0 ? 100 * Double(o - b) / Double(o) : 0)
        FileHandle.standardError.write(Data(out.utf8))
    }
}
