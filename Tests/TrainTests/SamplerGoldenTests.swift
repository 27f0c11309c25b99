import Foundation
import Testing
import NN
import TensorCore
import Train

/// A 4-step Euler CFG sample of the small fixture UNet against PyTorch's reference sampler.
@Suite struct SamplerGoldenTests {
    @Test func eulerCFGSampleMatchesPyTorch() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../NNTests/Fixtures/unet_small.safetensors").standardized.path
        let f = try Safetensors.read(path: path)
        func t(_ n: String) throws -> Tensor { try #require(f.entry(n)).tensor() }
        let config = UNetConfig(channels: [8, 16])
        var weights = StateDict()
        for (key, _) in UNet(config).parameterShapes { weights[key] = try t(key) }
        let model = try VelocityModel(config: .unet(config), weights: weights)
        let labelsEntry = try #require(f.entry("sample.labels"))
        let labels = labelsEntry.bytes.withUnsafeBytes { raw in
            (0..<(labelsEntry.bytes.count / 8)).map { Int(raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
        }
        let cfg = try t("sample.cfg").data[0]
        let out = Sampler.sample(model, noise: try t("sample.noise"), labels: labels,
                                 guidance: [Float](repeating: cfg, count: labels.count), sigmas: try t("sample.sigmas").data)
        let expected = try t("sample.out")
        var worst: Float = 0
        for i in 0..<out.count { worst = max(worst, abs(out.data[i] - expected.data[i])) }
        #expect(worst < 2e-4)
    }

    @Test func adamWMatchesHandComputedPyTorchStep() {
        // torch.optim.AdamW(lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01), p=1, g=0.5, two steps:
        // step 1: p = 1*(1-0.001) - 0.1 * 1 = 0.899 (m_hat/sqrt(v_hat) = 1)
        // step 2 (same g): p = 0.899*0.999 - 0.1 * 1 = 0.798101
        var opt = AdamW(weightDecay: 0.01)
        var p = StateDict([("w", Tensor(shape: [1], data: [1]))])
        let g = StateDict([("w", Tensor(shape: [1], data: [0.5]))])
        opt.update(&p, grads: g, lr: 0.1)
        #expect(abs(p["w"]!.data[0] - 0.899) < 1e-6)
        opt.update(&p, grads: g, lr: 0.1)
        #expect(abs(p["w"]!.data[0] - 0.798101) < 1e-5)
    }
}
