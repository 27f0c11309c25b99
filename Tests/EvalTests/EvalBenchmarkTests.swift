import Foundation
import Testing
import TensorCore
@testable import Eval

/// The speed budget of issue 5: statistics + FID + KID of 10k samples (128-d features) against a
/// 10k reference well under 30 s (the feature network's forward pass is measured separately).
///
/// Runs in release builds (`swift test -c release --filter EvalBenchmarkTests`) or when
/// `FS_EVAL_BENCH=1`; unoptimised debug loops would measure the compiler, not the method.
@Suite struct EvalBenchmarkTests {
    static var enabled: Bool {
        #if DEBUG
        ProcessInfo.processInfo.environment["FS_EVAL_BENCH"] == "1"
        #else
        true
        #endif
    }

    @Test(.enabled(if: enabled)) func tenThousandSamplesStatisticsFIDAndKID() throws {
        let n = 10_000, d = 128
        let real = TestData.features(n, d, seed: 40), fake = TestData.features(n, d, seed: 41, scale: 1.1)
        let savedThreads = ComputeThreads.count
        defer { ComputeThreads.set(savedThreads) }
        ComputeThreads.set(ComputeThreads.defaultCount)
        let clock = ContinuousClock()
        var fid = 0.0, kid: KernelInceptionDistance?
        let tStats = try clock.measure {
            _ = try GaussianStatistics(features: real)
        }
        let tAll = try clock.measure {
            let a = try GaussianStatistics(features: real), b = try GaussianStatistics(features: fake)
            fid = try frechetDistance(a, b)
            kid = try KernelInceptionDistance(real, fake)
        }
        print("EvalBenchmark: n=\(n) D=\(d) threads=\(ComputeThreads.count): stats(one set) \(tStats), "
              + "stats(both)+FID+KID(100x1000) \(tAll); fid=\(fid) kid=\(kid!.mean)±\(kid!.std)")
        #expect(tAll < .seconds(30))
        #expect(fid > 0 && kid!.mean > 0)
    }
}
