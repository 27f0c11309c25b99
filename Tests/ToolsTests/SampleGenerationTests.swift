import Foundation
import ImageIO
import NN
import TensorCore
import Testing
import Train
@testable import ToolSupport

/// A tiny UNet with every parameter random (the default init zeroes conv_out, which would make v = 0).
func randomTinyModel(channels: [Int] = [8, 16], embedDim: Int = 32, seed: UInt64 = 7) throws -> VelocityModel {
    let config = UNetConfig(channels: channels, embedDim: embedDim)
    var i: UInt64 = 0
    let weights = UNet(config).initialParameters(seed: seed).mapTensors { _, t in
        i += 1
        var rng = SplitMix64(seed: streamSeed(seed, 99, i))
        return Tensor(shape: t.shape, data: rng.normals(t.count).map { $0 * 0.15 })
    }
    return try VelocityModel(config: .unet(config), weights: weights)
}

@Suite struct SampleGenerationTests {
    /// Sample i depends only on its seed, label, model and plan: batch sizes 1, 3 and all give the same
    /// bits, with guidance (cond + null rows batched together) and without, Euler and Heun; so does a
    /// sample computed alone (another position in a padded group), and the trajectory.
    @Test func resultsDoNotDependOnBatchSize() throws {
        let model = try randomTinyModel()
        let seeds: [UInt64] = [11, 3, 900, 42, 8, 1000]
        let labels = LabelSpec.cycle.labels(count: seeds.count)
        let sigmas = SigmaSchedule.make(.fixed, steps: 2, shift: 3).sigmas
        for plan in [SamplingPlan(sigmas: sigmas, guidance: 2.5, method: .euler),
                     SamplingPlan(sigmas: sigmas, guidance: 1, method: .heun)] {
            let all = try SampleGeneration.generate(model, seeds: seeds, labels: labels, plan: plan, batchSize: 6,
                                                trajectorySamples: 2)
            #expect(all.noise.data == Tensor.perSampleNoise(seeds: seeds, sampleShape: [1, 28, 28]).data)
            #expect(all.samples.shape == [6, 1, 28, 28])
            #expect(all.samples.data != all.noise.data)
            #expect(all.samples.data.allSatisfy { $0.isFinite })
            for b in [1, 3] {
                var batches: [Int] = []
                let other = try SampleGeneration.generate(model, seeds: seeds, labels: labels, plan: plan, batchSize: b,
                                                      trajectorySamples: 2, onBatch: { batches.append($0) })
                #expect(other.samples.data == all.samples.data, "batch size \(b), \(plan.method), cfg \(plan.guidance)")
                #expect(other.trajectory.map(\.data) == all.trajectory.map(\.data))
                #expect(batches.last == seeds.count)
            }
            // A sample alone (other neighbours, other position in its group) gives the same bits.
            let alone = try SampleGeneration.generate(model, seeds: [900], labels: [labels[2]], plan: plan, batchSize: 1)
            #expect(alone.samples.data == Array(all.samples.data[(2 * 784)..<(3 * 784)]))
            // The trajectory holds noise, every intermediate state and the result for the first 2 samples.
            #expect(all.trajectory.count == sigmas.count)
            #expect(all.trajectory[0].data == Array(all.noise.data[0..<(2 * 784)]))
            #expect(all.trajectory.last!.data == Array(all.samples.data[0..<(2 * 784)]))
        }
    }

    @Test func guidanceOneMatchesPlainEulerAndGuidanceChangesSamples() throws {
        let model = try randomTinyModel(channels: [8], embedDim: 16)
        let sigmas: [Float] = [1, 0.5, 0]
        let noise = Tensor.perSampleNoise(seeds: [5, 6], sampleShape: [1, 28, 28])
        let ref = Sampler.sample(model, noise: noise, labels: [3, 4], guidance: [1, 1], sigmas: sigmas)
        let g = try SampleGeneration.generate(model, seeds: [5, 6], labels: [3, 4],
                                          plan: SamplingPlan(sigmas: sigmas, guidance: 1), batchSize: 2, groupSize: 2)
        #expect(g.samples.data == ref.data)
        let guided = try SampleGeneration.generate(model, seeds: [5, 6], labels: [3, 4],
                                               plan: SamplingPlan(sigmas: sigmas, guidance: 3), batchSize: 2, groupSize: 2)
        #expect(guided.samples.data != ref.data)
    }

    @Test func labelSpecs() throws {
        #expect(LabelSpec.cycle.labels(count: 12) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1])
        #expect(try LabelSpec(parsing: "cycle") == .cycle)
        #expect(try LabelSpec(parsing: "3").labels(count: 3) == [3, 3, 3])
        #expect(try LabelSpec(parsing: "1, 7").labels(count: 5) == [1, 7, 1, 7, 1])
        #expect(try LabelSpec(parsing: "10").labels(count: 1) == [10])   // the null label: unconditional
        for bad in ["11", "-1", "a", "1,,2", ""] {
            #expect(throws: (any Error).self) { try LabelSpec(parsing: bad) }
        }
        #expect(LabelSpec(argument: "2,5")?.description == "2,5")
    }

    @Test func evaluationCounts() {
        let s: [Float] = [1, 0.75, 0.5, 0]
        #expect(SamplingPlan(sigmas: s, guidance: 1).evaluationsPerSample == 3)
        #expect(SamplingPlan(sigmas: s, guidance: 2).evaluationsPerSample == 6)
        #expect(SamplingPlan(sigmas: s, guidance: 1, method: .heun).evaluationsPerSample == 5)
        #expect(SamplingPlan(sigmas: s, guidance: 2, method: .heun).evaluationsPerSample == 10)
    }

    @Test func scheduleChoice() throws {
        let fixed4 = try SampleGeneration.schedule(for: nil, steps: 4, kind: nil, shift: nil, sigmas: nil)
        #expect(fixed4.sigmas == [1, 0.9, 0.75, 0.5, 0])
        let diff = try SampleGeneration.schedule(for: nil, steps: 4, kind: .diffusers, shift: 3, sigmas: nil)
        #expect(diff.sigmas == SigmaSchedule.make(.diffusers, steps: 4, shift: 3).sigmas)
        #expect(try SampleGeneration.schedule(for: nil, steps: nil, kind: nil, shift: nil, sigmas: nil).steps == 32)
        let explicit = try SampleGeneration.schedule(for: nil, steps: 9, kind: .fixed, shift: nil, sigmas: "1,0.6,0.2")
        #expect(explicit.sigmas == [1, 0.6, 0.2, 0])
        #expect(ToolOutcome(error: errorOf { _ = try SampleGeneration.schedule(for: nil, steps: 0, kind: nil, shift: nil, sigmas: nil) }).code == 2)
        #expect(ToolOutcome(error: errorOf { _ = try SampleGeneration.schedule(for: nil, steps: 4, kind: nil, shift: -1, sigmas: nil) }).code == 2)
        #expect(ToolOutcome(error: errorOf { _ = try SampleGeneration.schedule(for: nil, steps: nil, kind: nil, shift: nil, sigmas: "1,x") }).code == 2)
        #expect(SampleGeneration.jsonList([1, 0.857692, 0.0089285718, 0]) == "[1.0, 0.857692, 0.008928572, 0.0]")
    }

    @Test func saveTensorsFormat() throws {
        let model = try randomTinyModel(channels: [8], embedDim: 16)
        let plan = SamplingPlan(sigmas: [1, 0.5, 0], guidance: 1.5)
        let g = try SampleGeneration.generate(model, seeds: [1, 2, 3], labels: [0, 10, 9], plan: plan, batchSize: 2, groupSize: 3)
        let file = g.tensorsFile(plan: plan, extra: [("checkpoint", "x@1")])
        let dir = NSTemporaryDirectory() + "fs-sample-tests-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Safetensors.write(file, to: dir + "/s.safetensors")
        let back = try Safetensors.read(path: dir + "/s.safetensors")
        #expect(back.entry("noise")?.shape == [3, 1, 28, 28] && back.entry("noise")?.dtype == .F32)
        #expect(back.entry("samples")?.shape == [3, 1, 28, 28])
        #expect(try back.entry("samples")!.tensor().data == g.samples.data)
        let labels = back.entry("labels")!
        #expect(labels.dtype == .I64 && labels.shape == [3])
        #expect(labels.bytes.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) } == [0, 10, 9])
        #expect(back.metadataValue("format") == "pt")
        #expect(back.metadataValue("sigmas") == "[1.0, 0.5, 0.0]")
        #expect(back.metadataValue("cfg") == "1.5")
        #expect(back.metadataValue("checkpoint") == "x@1")
        let blobs = g.sampleSetEntries
        #expect(blobs.map(\.name) == ["samples", "labels", "seeds"])
        #expect(blobs[2].dtype == .U64 && blobs[2].bytes.withUnsafeBytes { Array($0.bindMemory(to: UInt64.self)) } == [1, 2, 3])
    }

    @Test func gridLayouts() {
        // 25 cycling samples: one row per class (10 rows), 3 columns (class 0..4 have 3 samples, 5..9 have 2).
        let n = 25
        let samples = Tensor(shape: [n, 1, 28, 28], data: (0..<(n * 784)).map { Float($0 / 784) / Float(n) })
        let labels = LabelSpec.cycle.labels(count: n)
        let g = sampleGrid(samples, labels: labels, byClass: true, limit: 100)
        #expect(g.width == 3 * 30 + 2 && g.height == 10 * 30 + 2)
        // Row 1 (class 1), column 2 shows sample 21; row 9, column 2 is empty (black).
        #expect(g.pixels[(2 + 1 * 30 + 5) * g.width + 2 + 2 * 30 + 5] == GrayImage.byte(Float(21) / Float(n)))
        #expect(g.pixels[(2 + 9 * 30 + 5) * g.width + 2 + 2 * 30 + 5] == 0)
        let limited = sampleGrid(samples, labels: labels, byClass: true, limit: 10, scale: 2)
        #expect(limited.width == (1 * 30 + 2) * 2 && limited.height == (10 * 30 + 2) * 2)
        let square = sampleGrid(samples, labels: labels, byClass: false, limit: 100)
        #expect(square.width == 5 * 30 + 2 && square.height == 5 * 30 + 2)
    }
}

/// The error `body` throws (a test failure if it does not throw).
func errorOf(_ body: () throws -> Void) -> Error {
    do { try body() } catch { return error }
    Issue.record("expected an error")
    return ToolError.failure("no error")
}
