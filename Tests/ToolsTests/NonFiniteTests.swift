import ArgumentParser
import Foundation
import NN
import TensorCore
import Testing
import Train
@testable import ToolSupport

/// Issue 24 item 5: NaN and infinities are stopped where they arise (the model's weights, the sampler's
/// velocities and states, every float option), never stored as samples or scores.
@Suite struct NonFiniteTests {
    /// A model with one NaN weight: sampling stops at the first step with exit 5, naming the model,
    /// the step and the sigma; the unchecked sampler would have returned NaN samples.
    @Test func samplerStopsAtANonFiniteVelocity() throws {
        let good = try randomTinyModel()
        var weights = good.weights
        let key = weights.keys.sorted().first { weights[$0]!.count > 4 }!
        var t = weights[key]!
        t.data[3] = .nan
        weights[key] = t
        let bad = try VelocityModel(config: good.config, weights: weights)
        let plan = SamplingPlan(sigmas: SigmaSchedule.make(.fixed, steps: 3, shift: 3).sigmas, guidance: 1)
        let e = errorOf {
            _ = try SampleGeneration.generate(bad, seeds: [1, 2], labels: [0, 1], plan: plan, batchSize: 2, modelName: "checkpoint X")
        }
        let o = ToolOutcome(error: e)
        #expect(o.code == 5)
        #expect(o.message.contains("checkpoint X") && o.message.contains("step 1 of 3") && o.message.contains("sigma 1.0"))
        #expect(throws: NonFiniteSampling.self) {
            _ = try Sampler.sampleChecked(bad, noise: Tensor(zeros: [1, 1, 28, 28]), labels: [0], guidance: [1], sigmas: plan.sigmas)
        }
        // The same weights load from a file as bad input (exit 3) naming the tensor.
        let loadError = errorOf {
            _ = try LoadedModel.make(weights: weights, metadata: .object([("config", try OrderedJSON.parse(good.config.json))]),
                                     reference: "f", source: .file(path: "f.safetensors"), hash: "0", what: "model file f")
        }
        let lo = ToolOutcome(error: loadError)
        #expect(lo.code == 3 && lo.message.contains(key))
    }

    /// A finite model gives bit-identical results through the checked path.
    @Test func checkedSamplingChangesNoBit() throws {
        let model = try randomTinyModel()
        let sigmas = SigmaSchedule.make(.fixed, steps: 3, shift: 3).sigmas
        let noise = Tensor.perSampleNoise(seeds: [4, 5], sampleShape: [1, 28, 28])
        for method in Sampler.Method.allCases {
            let a = Sampler.sample(model, noise: noise, labels: [1, 2], guidance: [2, 2], sigmas: sigmas, method: method)
            let b = try Sampler.sampleChecked(model, noise: noise, labels: [1, 2], guidance: [2, 2], sigmas: sigmas, method: method)
            #expect(a == b)
        }
    }

    /// One validator for every float option: NaN, infinities and out-of-range values are usage errors (2).
    @Test func optionCheckRefusesNonFiniteValues() throws {
        for v: Float in [.nan, .infinity, -.infinity] {
            #expect(ToolOutcome(error: errorOf { try OptionCheck.float("--cfg", v) }).code == 2)
        }
        try OptionCheck.float("--cfg", Float(-2))
        try OptionCheck.float("--cfg", Float?.none, .positive)
        #expect(ToolOutcome(error: errorOf { try OptionCheck.float("--shift", Float(0), .positive) }).message.contains("--shift"))
        #expect(ToolOutcome(error: errorOf { try OptionCheck.float("--stop-sigma", Float(1.5), .range(0...1)) }).code == 2)
        #expect(ToolOutcome(error: errorOf { try OptionCheck.int("--steps", -1, 1...100) }).code == 2)
        try OptionCheck.int("--steps", 100, 1...100)
    }
}

/// Issue 24 item 6: memory is planned before allocating, and a refusal says what would fit.
@Suite struct MemoryBudgetTests {
    @Test func refusesWithTheLargestValueThatFits() throws {
        let e = errorOf { try MemoryBudget.check("--num-samples", value: 1000, budget: 5000) { Double($0) * 10 } }
        let o = ToolOutcome(error: e)
        #expect(o.code == 2)
        #expect(o.message.contains("at most --num-samples 500 fits"))
        try MemoryBudget.check("--num-samples", value: 500, budget: 5000) { Double($0) * 10 }
        #expect(MemoryBudget.parseBytes("2G")! == 2_147_483_648.0)
        #expect(MemoryBudget.parseBytes("bogus") == nil)
        #expect(MemoryBudget.available(environment: ["FS_MEMORY_LIMIT": "1M"]) == 1_048_576 * MemoryBudget.usableShare)
    }
}
