import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Wall-clock and process CPU time of a block. On this shared machine the wall clock mostly measures
/// the other engineers' load, so the time budgets are checked on CPU time per compute thread (the
/// wall time the work would take on otherwise idle cores); both are reported.
struct Timing: CustomStringConvertible {
    let wall: Double, cpu: Double, threads: Int
    /// CPU seconds divided by the thread count: the uncontended wall-time estimate.
    var perThread: Double { cpu / Double(max(1, threads)) }
    var description: String {
        String(format: "wall %.2f s, cpu %.2f s (%.2f s per thread, %d threads)", wall, cpu, perThread, threads)
    }

    static func processCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    static func measure(threads: Int, _ body: () throws -> Void) rethrows -> Timing {
        let c0 = processCPUSeconds(), w0 = DispatchTime.now().uptimeNanoseconds
        try body()
        let w1 = DispatchTime.now().uptimeNanoseconds, c1 = processCPUSeconds()
        return Timing(wall: Double(w1 - w0) * 1e-9, cpu: c1 - c0, threads: threads)
    }

    /// The 1-minute load average, to give wall times their context.
    static var loadAverage: String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").first.map(String.init) ?? "?"
    }
}

extension Timing {
    static func + (a: Timing, b: Timing) -> Timing { Timing(wall: a.wall + b.wall, cpu: a.cpu + b.cpu, threads: a.threads) }
}
