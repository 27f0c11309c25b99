import Testing
import TensorCore
@testable import Eval

@Suite struct BootstrapIntervalTests {
    /// The rows of `x` that replicate b of the bootstrap draws (each as often as its count).
    static func resample(_ x: Tensor, replicate b: Int, seed: UInt64) -> Tensor {
        let (n, d) = (x.shape[0], x.shape[1])
        let c = BootstrapResampling.counts(items: n, replicate: b, seed: seed)
        var rows = [Float]()
        for i in 0..<n { for _ in 0..<Int(c[i]) { rows += x.data[(i * d)..<((i + 1) * d)] } }
        return Tensor(shape: [n, d], data: rows)
    }

    @Test func countsDrawEveryItemNTimesInTotal() {
        let c = BootstrapResampling.counts(items: 50, replicate: 3, seed: 7)
        #expect(c.reduce(0, +) == 50)
        #expect(c.filter { $0 == 0 }.count > 5)   // about 37% of the items are not drawn
        #expect(c != BootstrapResampling.counts(items: 50, replicate: 4, seed: 7))
        #expect(c == BootstrapResampling.counts(items: 50, replicate: 3, seed: 7))
    }

    @Test func quantileInterpolatesLikeNumpy() {
        // numpy.quantile([1, 2, 3, 4], 0.25) = 1.75, (..., 0.975) = 3.925
        #expect(abs(BootstrapInterval.quantile([1, 2, 3, 4], 0.25) - 1.75) < 1e-12)
        #expect(abs(BootstrapInterval.quantile([1, 2, 3, 4], 0.975) - 3.925) < 1e-12)
        // Centred: the replicates' spread around their mean, moved to the estimate.
        let i = BootstrapInterval(estimate: 10, replicates: [11, 12, 13, 14, 15], level: 0.5)
        #expect(abs(i.low - (10 - (13 - 12))) < 1e-12 && abs(i.high - (10 + (14 - 13))) < 1e-12)
    }

    /// Each FID replicate, computed from counts without building the resample, equals FID of the
    /// materialised resample.
    @Test func fidReplicatesEqualExplicitResamples() throws {
        let x = TestData.correlated(60, 5, seed: 1), ref = try GaussianStatistics(features: TestData.correlated(80, 5, seed: 2))
        let boot = try FIDBootstrap(features: x, reference: ref, estimate: 0, replicates: 6, seed: 11)
        for b in 0..<6 {
            let explicit = try frechetDistance(try GaussianStatistics(features: Self.resample(x, replicate: b, seed: 11)), ref)
            #expect(abs(boot.interval.replicates[b] - explicit) <= 1e-9 * max(1, explicit))
        }
    }

    /// Each KID replicate's closed form (counts times one pass over K) equals the full-set unbiased
    /// MMD² terms of the materialised resample, pairs of distinct draws only.
    @Test func kidReplicatesEqualExplicitResamples() throws {
        let x = TestData.correlated(50, 4, seed: 3), y = TestData.correlated(70, 4, seed: 4)
        let kid = try KernelInceptionDistance(x, y, subsets: 3, subsetSize: 40, seed: 1)
        let boot = try KIDBootstrap(features: x, reference: y, kid: kid, replicates: 5, seed: 12)
        func k(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Double {
            var s = 0.0; for (u, v) in zip(a, b) { s += Double(u) * Double(v) }
            let t = s / 4 + 1; return t * t * t
        }
        for b in 0..<5 {
            let r = Self.resample(x, replicate: b, seed: 12)
            var xx = 0.0, xy = 0.0
            for i in 0..<50 {
                let ri = r.data[(i * 4)..<(i * 4 + 4)]
                for j in 0..<50 where j != i { xx += k(ri, r.data[(j * 4)..<(j * 4 + 4)]) }
                for j in 0..<70 { xy += k(ri, y.data[(j * 4)..<(j * 4 + 4)]) }
            }
            let explicit = xx / (50 * 49) - 2 * xy / (50 * 70)
            #expect(abs(boot.statistics[b] - explicit) <= 1e-9 * max(1, abs(explicit)))
        }
    }

    @Test func intervalsContainTheEstimateAndShrinkWithMoreSamples() throws {
        let refFeatures = TestData.correlated(3000, 8, seed: 5)
        let ref = try ReferenceFeatures(features: refFeatures)
        var widths: [(fid: Double, kid: Double)] = []
        for n in [400, 3200] {
            // Samples from a shifted distribution, so FID is clearly above its noise.
            let x = Tensor(shape: [n, 8], data: TestData.correlated(n, 8, seed: 6).data.map { $0 * 1.1 + 0.3 })
            let fid = try frechetDistance(try GaussianStatistics(features: x), ref.stats)
            let f = try FIDBootstrap(features: x, reference: ref.stats, estimate: fid, replicates: 100, seed: 0).interval
            let kid = try KernelInceptionDistance(x, refFeatures, subsets: 20, subsetSize: 300, seed: 0)
            let k = try KIDBootstrap(features: x, reference: refFeatures, kid: kid, replicates: 100, seed: 0).interval
            #expect(f.low < fid && fid < f.high, "FID \(fid) in [\(f.low), \(f.high)] at n = \(n)")
            #expect(k.low < kid.mean && kid.mean < k.high, "KID \(kid.mean) in [\(k.low), \(k.high)] at n = \(n)")
            widths.append((f.high - f.low, k.high - k.low))
        }
        // 8 times the samples: about 1/sqrt(8) = 0.35 of the width.
        #expect(widths[1].fid < 0.55 * widths[0].fid, "FID widths \(widths)")
        #expect(widths[1].kid < 0.55 * widths[0].kid, "KID widths \(widths)")
    }

    @Test func identicalForAnyThreadCount() throws {
        let x = TestData.correlated(700, 6, seed: 7), y = TestData.correlated(500, 6, seed: 8)
        let ref = try GaussianStatistics(features: y)
        let kid = try KernelInceptionDistance(x, y, subsets: 5, subsetSize: 200, seed: 2)
        let saved = ComputeThreads.count
        defer { ComputeThreads.set(saved) }
        var runs: [([Double], [Double])] = []
        for t in [1, 2, 3] {
            ComputeThreads.set(t)
            let f = try FIDBootstrap(features: x, reference: ref, estimate: 1, replicates: 17, seed: 4).interval
            let k = try KIDBootstrap(features: x, reference: y, kid: kid, replicates: 17, seed: 4).interval
            runs.append((f.replicates, k.replicates))
        }
        #expect(runs[0] == runs[1] && runs[0] == runs[2])
        let other = try FIDBootstrap(features: x, reference: ref, estimate: 1, replicates: 17, seed: 5).interval
        #expect(other.replicates != runs[0].0)
    }

    /// Known answer in one dimension: against N(0, 1), FID = m² + (s − 1)², so with the samples' mean
    /// m = 3 its spread comes from the mean, d FID = 2m dm with sd(dm) = σ/√N: the 95% interval's
    /// half-width is 1.96 · 2 · 3 · σ/√N.
    @Test func knownAnswerInOneDimension() throws {
        let n = 2000
        var g = SplitMix64(seed: 99)
        let x = Tensor(shape: [n, 1], data: g.normals(n).map { $0 + 3 })
        let ref = try GaussianStatistics(mean: [0], covariance: [1])
        let stats = try GaussianStatistics(features: x)
        let fid = try frechetDistance(stats, ref)
        let s = stats.covariance[0].squareRoot()
        #expect(abs(fid - (stats.mean[0] * stats.mean[0] + (s - 1) * (s - 1))) < 1e-9)
        let i = try FIDBootstrap(features: x, reference: ref, estimate: fid, replicates: 2000, seed: 1).interval
        let expected = 1.96 * 2 * stats.mean[0] * s / Double(n).squareRoot()
        #expect(abs((i.high - i.low) / 2 - expected) < 0.08 * expected, "half-width \((i.high - i.low) / 2) vs \(expected)")
    }

    @Test func reportCarriesIntervalsUnderTheJSONKeys() throws {
        let fx = try FeatureExtractor.embedded()
        var g = SplitMix64(seed: 3)
        let images = Tensor(shape: [64, 1, 28, 28], data: g.normals(64 * 784).map { max(-1, min(1, $0 * 0.5)) })
        var m = MeasuredSamples(extractor: fx)
        try m.add(images.slice(0..<32), teacher: images.slice(0..<32))
        try m.add(images.slice(32..<64), teacher: Tensor(shape: [32, 1, 28, 28], data: images.slice(32..<64).data.map { $0 + 0.1 }))
        let ref = try ReferenceFeatures(features: try fx(Tensor(shape: [80, 1, 28, 28], data: g.normals(80 * 784).map { max(-1, min(1, $0 * 0.4)) })).features)
        let r = try EvalReport(m, labels: (0..<64).map { $0 % 10 }, reference: ref, settings: EvalSettings(seed: 0, bootstrap: 20))
        let f = r.fields
        let ci = try #require(f["fid_ci95"] as? [Double])
        #expect(ci.count == 2 && ci[0] <= r.fid && r.fid <= ci[1])
        #expect((f["kid_ci95"] as? [Double])?.count == 2)
        #expect(f["interval"] as? String == "bootstrap over samples, B=20, seed 0, centred percentile")
        // Half the samples match the teacher exactly, half differ by 0.1 everywhere the clamp allows.
        let mse = try #require(r.trajectoryMSE)
        #expect(mse > 0 && mse < 0.5 * 0.01 + 1e-9)
        let off = try EvalReport(m, labels: (0..<64).map { $0 % 10 }, reference: ref, settings: EvalSettings(seed: 0, bootstrap: 0))
        #expect(off.fields["fid_ci95"] == nil && off.fid == r.fid && off.kid == r.kid)
    }
}
