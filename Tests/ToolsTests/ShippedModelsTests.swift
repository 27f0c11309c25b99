import Foundation
import Testing
import NN
import TensorCore
import Train
@testable import ToolSupport

/// The checkpoints shipped in models/ (written before the model seam and the typed manifest) still load,
/// and sample the same bits as the code they were made with: SHA-256 of the samples of seeds 0-3 (labels
/// cycling, the model's recommended guidance, a student's own grid, a teacher's 4-step fixed grid), as
/// `fs-sample --seeds 0-3 [--steps 4] --save-tensors` printed them at commit 1a42698.
@Suite struct ShippedModelsTests {
    static let expected: [(file: String, sha256: String)] = [
        ("teacher-mnist", "e540313a1239c4e4d2e77d44442487c67e68a6e642d0414bd07fe21258f00ef6"),
        ("teacher-fashion-mnist", "9a819baf8e2ecb4f582043ab3330a65a8e8fe78b314e03fb3519cf1f3cdcc356"),
        ("student-flowsteer-4", "518ffc2b5710a2a133dc71f82ee10dadf2fd3ad1dbfc29145888f2c9a89b079b"),
        ("student-perflow-4", "a5fb77e1e9cc75d1308bb452eb941524f058dbf1032a1802e3fe030f901bf3f1"),
    ]

    static var modelsDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("models")
    }

    @Test(arguments: expected.map(\.file)) func shippedModelSamplesAsBefore(_ name: String) throws {
        let path = Self.modelsDirectory.appendingPathComponent("\(name).safetensors").path
        let m = try LoadedModel.load(file: path)
        guard case .unet = m.config else { Issue.record("\(name) is not a UNet"); return }
        let sigmas = m.segmentSigmas ?? SigmaSchedule.make(m.schedule ?? .fixed, steps: 4, shift: m.shift).sigmas
        let seeds: [UInt64] = [0, 1, 2, 3]
        let labels = LabelSpec.cycle.labels(count: 4, numClasses: m.config.numClasses)
        let out = try SampleGeneration.generate(m.model, seeds: seeds, labels: labels,
                                                plan: SamplingPlan(sigmas: sigmas, guidance: m.recommendedCFG), batchSize: 4)
        let bytes = out.samples.data.withUnsafeBytes { Array($0) }
        #expect(SHA256.hex(bytes) == Self.expected.first { $0.file == name }!.sha256, "\(name)")
    }
}
