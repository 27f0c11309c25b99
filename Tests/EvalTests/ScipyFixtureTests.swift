import Foundation
import Testing
import TensorCore
@testable import Eval

/// Compares against values computed by tools/golden/fid_fixture.py with numpy and scipy, using
/// pytorch-fid's `calculate_frechet_distance` (sqrtm of Σ1·Σ2) and clean-fid's KID formula.
@Suite struct ScipyFixtureTests {
    struct Pair: Decodable { let name: String; let dim: Int; let mu1, sigma1, mu2, sigma2: [Double]; let fid: Double }
    struct Features: Decodable {
        let dim, rows: Int
        let x, y, mu_x, sigma_x, mu_y, sigma_y: [Double]
        let fid, kid: Double
    }
    struct Fixture: Decodable { let pairs: [Pair]; let features: Features }

    static func load() throws -> Fixture {
        let url = try #require(Bundle.module.url(forResource: "fid_fixture", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    @Test func frechetDistanceMatchesScipySqrtm() throws {
        let fx = try Self.load()
        #expect(fx.pairs.count >= 5)
        var worst = 0.0
        for p in fx.pairs {
            let a = try GaussianStatistics(mean: p.mu1, covariance: p.sigma1)
            let b = try GaussianStatistics(mean: p.mu2, covariance: p.sigma2)
            let got = try frechetDistance(a, b)
            #expect(abs(got - p.fid) <= 1e-6 * abs(p.fid), "\(p.name): \(got) vs scipy \(p.fid)")
            worst = max(worst, abs(got - p.fid) / abs(p.fid))
        }
        print("ScipyFixture: largest relative FID difference from scipy sqrtm: \(worst)")
    }

    @Test func featureStatisticsFIDAndKIDMatchNumpy() throws {
        let f = try Self.load().features
        let x = Tensor(shape: [f.rows, f.dim], data: f.x.map(Float.init))
        let y = Tensor(shape: [f.rows, f.dim], data: f.y.map(Float.init))
        let sx = try GaussianStatistics(features: x), sy = try GaussianStatistics(features: y)
        #expect(TestData.maxAbsDiff(sx.mean, f.mu_x) < 1e-12 * 10)
        #expect(TestData.maxAbsDiff(sx.covariance, f.sigma_x) < 1e-11)
        #expect(TestData.maxAbsDiff(sy.covariance, f.sigma_y) < 1e-11)
        let fid = try frechetDistance(sx, sy)
        #expect(abs(fid - f.fid) <= 1e-6 * f.fid, "\(fid) vs \(f.fid)")
        let kid = try KernelInceptionDistance(x, y, subsets: 3)
        #expect(abs(kid.mean - f.kid) <= 1e-9 * abs(f.kid), "\(kid.mean) vs \(f.kid)")
    }
}
