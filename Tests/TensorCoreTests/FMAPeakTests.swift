import Testing
@testable import TensorCore

/// `fs-bench --only peak`: every probe this CPU can run reports, each a plausible rate for one x86-64 core of the
/// last decade (1 to 1000 GFLOP/s: a probe that skipped its loop would report far more, a broken one 0 or nothing).
@Suite struct FMAPeakTests {
    @Test func everyRunnableProbeReportsAPlausibleRate() {
        let peak = FMAPeak.measure(seconds: 0.02, repeats: 2)
        #if arch(x86_64)
        #expect(!peak.isEmpty, "an x86-64 host without AVX2 + FMA is not one this project builds kernels for")
        #endif
        for (name, gflops) in peak { #expect(gflops > 1 && gflops < 1000, "\(name): \(gflops) GFLOP/s") }
    }
}
