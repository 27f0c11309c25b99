import CCPU
import Foundation

/// The peak of one core's multiply-add units, measured: the ceiling of docs/performance.md's roofline
/// (`fs-bench --only peak`). Each probe runs independent chains held in registers (`cpeak.c`), so nothing but
/// the FMA pipes limits it; a GEMM kernel's GFLOP/s over this says how much of the core it uses.
public enum FMAPeak {
    /// The probes: name, the CPU features it needs, and the C loop (rounds -> floating-point operations).
    static let probes: [(name: String, needs: UInt32, run: @Sendable (Int) -> Double)] = [
        ("avx2_fp32", UInt32(CCPU_AVX2 | CCPU_FMA), { ccpu_fma_rounds_avx2($0) }),
        ("avx512_fp32", UInt32(CCPU_AVX512F), { ccpu_fma_rounds_avx512($0) }),
        ("avx512_bf16", UInt32(CCPU_AVX512F | CCPU_AVX512_BF16), { ccpu_dpbf16_rounds($0) }),
    ]

    /// GFLOP/s of every probe this CPU can run, on the calling thread: the best of `repeats` timings of about
    /// `seconds` each (a peak is what the core can do, so the best, not the median, of runs another process may
    /// have interrupted). A multiply-add counts 2 operations; a bf16 dot-product lane counts 4.
    public static func measure(seconds: Double = 0.2, repeats: Int = 5) -> [String: Double] {
        var out: [String: Double] = [:]
        for p in probes where ccpu_has(p.needs) != 0 {
            // Calibrate the rounds to about `seconds`, then time.
            var rounds = 1 << 16
            while elapsed({ _ = p.run(rounds) }) < seconds / 4 && rounds < 1 << 34 { rounds *= 2 }
            let per = elapsed { _ = p.run(rounds) }
            rounds = max(1, Int(Double(rounds) * seconds / max(per, 1e-9)))
            var best = 0.0
            for _ in 0..<repeats {
                var flops = 0.0
                let t = elapsed { flops = p.run(rounds) }
                best = max(best, flops / t / 1e9)
            }
            out[p.name] = best
        }
        return out
    }

    static func elapsed(_ body: () -> Void) -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    }
}
