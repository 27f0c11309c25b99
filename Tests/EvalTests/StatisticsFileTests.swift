import Foundation
import Testing
import NN
import TensorCore
@testable import Eval

@Suite struct StatisticsFileTests {
    @Test func roundTripsExactlyThroughAFile() throws {
        let s = try GaussianStatistics(features: TestData.correlated(300, 12, seed: 30))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("evalstats-\(UUID()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try s.write(to: path, featureNetwork: "abc123")
        let back = try GaussianStatistics(path: path, expectedFeatureNetwork: "abc123")
        #expect(back == s)
        #expect(back.count == 300)
        let raw = try Safetensors.read(path: path)
        #expect(raw.entry("mu")?.dtype == .F64 && raw.entry("sigma")?.shape == [12, 12])
    }

    @Test func rejectsMismatchedOrCorruptStatistics() throws {
        let s = try GaussianStatistics(features: TestData.correlated(50, 4, seed: 31))
        let file = s.safetensorsFile(featureNetwork: "net-A")
        #expect(throws: EvalError.self) { try GaussianStatistics(safetensors: file, expectedFeatureNetwork: "net-B") }
        var noSigma = file; noSigma.entries.removeAll { $0.name == "sigma" }
        #expect(throws: EvalError.badStatisticsFile(file: "<memory>", reason: "no tensor named 'sigma'")) {
            try GaussianStatistics(safetensors: noSigma)
        }
        var f32 = file; f32.entries[0] = SafetensorsEntry(name: "mu", tensor: Tensor(zeros: [4]))
        #expect(throws: EvalError.self) { try GaussianStatistics(safetensors: f32) }
        var wrongShape = file; wrongShape.entries[1].shape = [2, 8]
        #expect(throws: EvalError.self) { try GaussianStatistics(safetensors: wrongShape) }
        // A NaN inside sigma is reported as a bad file, not turned into a NaN FID.
        var nan = file
        withUnsafeBytes(of: Double.nan.bitPattern.littleEndian) { nan.entries[1].bytes.replaceSubrange(0..<8, with: $0) }
        #expect(throws: EvalError.self) { try GaussianStatistics(safetensors: nan) }
    }
}
