import Foundation
import Testing
import TensorCore
@testable import Train

private func close(_ a: [Float], _ b: [Float], _ tol: Float = 1e-5) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tol }
}

/// Segment boundaries, probabilities and targets on hand-worked numbers (paper §2, §6.3, App. A).
@Suite struct DistillSegmentTests {
    @Test func fixedAndDiffusersBoundaries() {
        let fixed = SegmentGrid(kind: .fixed, segments: 4, shift: 3, substeps: 8)
        #expect(close(fixed.boundaries, [1, 0.9, 0.75, 0.5, 0]))
        let diff = SegmentGrid(kind: .diffusers, segments: 4, shift: 3, substeps: 8)
        #expect(close(diff.boundaries, [1, 0.857692, 0.602151, 0.008929, 0], 2e-6))
        #expect(diff.start(2) == diff.boundaries[2] && diff.end(2) == diff.boundaries[3])
        // K = 2 on the diffusers grid is effectively one step: 1 -> 0.008929 -> 0.
        #expect(close(SegmentGrid(kind: .diffusers, segments: 2, shift: 3, substeps: 1).boundaries, [1, 0.008929, 0], 2e-6))
        #expect(close(SegmentGrid(kind: .fixed, segments: 2, shift: 3, substeps: 1).boundaries, [1, 0.75, 0]))
    }

    @Test func teacherSubGridKeepsBoundaries() {
        let g = SegmentGrid(kind: .fixed, segments: 4, shift: 3, substeps: 8)
        #expect(g.teacher.steps == 32)
        // The fixed grid subdivided equals the fixed 32-step grid.
        #expect(close(g.teacher.sigmas, SigmaSchedule.make(.fixed, steps: 32, shift: 3).sigmas, 1e-6))
        for k in 0..<4 {
            let w = g.teacherSigmas(segment: k)
            #expect(w.count == 9 && w.first == g.start(k) && w.last == g.end(k))
            #expect(zip(w, w.dropFirst()).allSatisfy { $0 > $1 })
        }
        let toTwo = g.teacherSigmas(toBoundary: 2)
        #expect(toTwo.count == 17 && toTwo.first == 1 && toTwo.last == 0.75)
        #expect(g.teacherSigmas(toBoundary: 0) == [1])
        let r = SegmentGrid.reflow(substeps: 4)
        #expect(r.boundaries == [1, 0] && r.count == 1 && r.teacherSigmas(segment: 0).count == 5)
    }

    @Test func adversarialProbabilities() {
        #expect(close(SegmentSampling.adversarial(4).map(Float.init), [0.4, 0.2, 0.2, 0.2]))
        #expect(SegmentSampling.adversarial(1) == [1])
        #expect(close(SegmentSampling.adversarial(2).map(Float.init), [0.4, 0.6]))
        let p8 = SegmentSampling.adversarial(8)
        #expect(p8.count == 8 && abs(p8.reduce(0, +) - 1) < 1e-12 && abs(p8[3] - 0.6 / 7) < 1e-12)
        let p = SegmentSampling.adversarial(4)
        #expect(SegmentSampling.pick(p, u: 0) == 0)
        #expect(SegmentSampling.pick(p, u: 0.39) == 0)
        #expect(SegmentSampling.pick(p, u: 0.41) == 1)
        #expect(SegmentSampling.pick(p, u: 0.61) == 2)
        #expect(SegmentSampling.pick(p, u: 0.999) == 3)
        #expect(close(SegmentSampling.uniform(4).map(Float.init), [0.25, 0.25, 0.25, 0.25]))
    }

    /// --adv-probs replaces the paper's probabilities; a wrong count, a negative value or a sum other than 1 is rejected.
    @Test func adversarialProbabilitiesOption() throws {
        var c = DistillConfig.preset("tiny", method: .flowsteer)!
        c.ota = true; c.adversarial = true; c.segments = 4
        #expect(close(c.adversarialProbabilities.map(Float.init), [0.4, 0.2, 0.2, 0.2]))
        c.advProbs = [0.1, 0.1, 0.2, 0.6]
        try c.validate()
        #expect(c.adversarialProbabilities == [0.1, 0.1, 0.2, 0.6])
        for bad in [[0.5, 0.5], [0.1, 0.1, 0.2, 0.5], [-0.1, 0.3, 0.2, 0.6]] {
            c.advProbs = bad
            #expect(throws: DistillConfigError.self) { try c.validate() }
        }
        c.advProbs = [0, 0, 0, 1]; c.adversarial = false
        #expect(throws: DistillConfigError.self) { try c.validate() }
    }

    @Test func segmentTargetsHandWorked() {
        // Segment 0.9 -> 0.75 (fixed grid, K = 4, k = 1): v* = (end - start) / (0.75 - 0.9).
        let start: [Float] = [1, 2], end: [Float] = [0.5, 3]
        let v = SegmentTarget.velocity(start: start[...], end: end[...], sigmaStart: 0.9, sigmaEnd: 0.75)
        #expect(close(v, [3.333333, -6.666667], 1e-4))
        // z_t at sigma 0.8: start + (0.8 - 0.9) v* = [0.666667, 2.666667]; at sigma_end it is the end state.
        #expect(close(SegmentTarget.point(start: start[...], velocity: v, sigmaStart: 0.9, sigma: 0.8), [0.666667, 2.666667], 1e-5))
        #expect(close(SegmentTarget.point(start: start[...], velocity: v, sigmaStart: 0.9, sigma: 0.75), end, 1e-5))
        // ReFlow: v* = (x_end - noise) / (0 - 1) = noise - x_end (= eps - x0, the flow-matching target).
        let rv = SegmentTarget.velocity(start: [1, -1][...], end: [0.2, 0.4][...], sigmaStart: 1, sigmaEnd: 0)
        #expect(close(rv, [0.8, -1.4]))
        // PeRFlow start sigma eps + (1 - sigma) x0 at sigma 0.75.
        #expect(close(SegmentTarget.interpolate(image: [-1, 1][...], noise: [2, 0][...], sigma: 0.75), [1.25, 0.25]))
        // sigma_t in (end, start]: u = 1 is the start, u -> 0 the end.
        #expect(SegmentSampling.sigma(start: 0.9, end: 0.75, u: 1) == 0.9)
        #expect(abs(SegmentSampling.sigma(start: 0.9, end: 0.75, u: 0.5) - 0.825) < 1e-6)
    }

    @Test func distillationInputsUsePerSampleSegments() {
        let g = SegmentGrid(kind: .fixed, segments: 4, shift: 3, substeps: 1)
        var p = SegmentPairs(sampleShape: [1, 28, 28])
        p.segments = [1, 3]; p.labels = [3, 7]; p.guidance = [1, 1]
        p.starts = [Float](repeating: 1, count: 784) + [Float](repeating: 2, count: 784)
        p.ends = [Float](repeating: 0.5, count: 784) + [Float](repeating: -1, count: 784)
        let (zt, sig, target) = DistillTrainer.distillationInputs(p, u: [0.5, 1], grid: g)
        #expect(zt.shape == [2, 1, 28, 28] && target.shape == [2, 1, 28, 28])
        #expect(abs(sig[0] - 0.825) < 1e-6 && sig[1] == 0.5)
        // Pair 0: v* = (0.5 - 1) / (0.75 - 0.9) = 3.3333, z_t = 1 + (0.825 - 0.9) * 3.3333 = 0.75.
        #expect(abs(target.data[0] - 3.333333) < 1e-4 && abs(zt.data[0] - 0.75) < 1e-5)
        // Pair 1 (last segment 0.5 -> 0, u = 1): v* = (-1 - 2) / (0 - 0.5) = 6, z_t = the start.
        #expect(abs(target.data[784] - 6) < 1e-5 && zt.data[784] == 2)
    }
}

/// Hinge, generator and feature-matching losses on small hand-worked cases, values and gradients.
@Suite struct DistillLossTests {
    @Test func hingeValueAndGradient() {
        let tape = Tape()
        let real = tape.variable(Tensor(shape: [3], data: [2, 0.5, -1]))
        let fake = tape.variable(Tensor(shape: [3], data: [-2, 0, 1]))
        let loss = DistillLoss.hinge(real: real, fake: fake)
        // mean(relu(1 - [2, .5, -1])) = (0 + .5 + 2)/3 ; mean(relu(1 + [-2, 0, 1])) = (0 + 1 + 2)/3.
        #expect(abs(loss.value.scalar - (2.5 / 3 + 1)) < 1e-6)
        let g = tape.backward(loss)
        #expect(close(g[real].data, [0, -1.0 / 3, -1.0 / 3]))
        #expect(close(g[fake].data, [0, 1.0 / 3, 1.0 / 3]))
        #expect(DistillLoss.accuracy(real: real.value, fake: fake.value) == 0.5)
    }

    /// State weighting: w_k = (sigma_{k+1} - sigma_k)^2 normalised to mean 1; the weighted L_dist is
    /// mean_i w_i * mean_j (v_ij - v*_ij)^2, and its gradient 2 w_i (v_ij - v*_ij) / (n * d).
    @Test func stateWeightedDistillationHandWorked() {
        let grid = SegmentGrid(kind: .fixed, segments: 2, shift: 1, substeps: 1)   // sigmas 1, .5, 0
        #expect(close(grid.stateWeights, [1, 1]))
        let g3 = SegmentGrid(kind: .fixed, segments: 2, shift: 3, substeps: 1)     // sigmas 1, .75, 0
        // steps .25 and .75: squares 1/16 and 9/16, mean 5/16 -> weights 0.2 and 1.8.
        #expect(close(g3.stateWeights, [0.2, 1.8]))
        let tape = Tape()
        let v = tape.variable(Tensor(shape: [2, 2], data: [1, 3, 2, 2]))
        let target = Tensor(shape: [2, 2], data: [0, 1, 1, 2])
        // per-sample MSE: (1 + 4)/2 = 2.5 and (1 + 0)/2 = 0.5; weighted mean (0.2 * 2.5 + 1.8 * 0.5)/2 = 0.7.
        let l = DistillLoss.distillation(v, target: target, weights: [0.2, 1.8])
        #expect(abs(l.value.scalar - 0.7) < 1e-6)
        let expected: [Float] = [0.1, 0.2, 0.9, 0]   // 2 w_i (v - v*) / 4
        #expect(close(tape.backward(l)[v].data, expected))
        // Unit weights give the plain loss.
        #expect(abs(DistillLoss.distillation(v, target: target, weights: [1, 1]).value.scalar
                    - DistillLoss.distillation(v, target: target).value.scalar) < 1e-6)
    }

    @Test func generatorTerm() {
        let tape = Tape()
        let fake = tape.variable(Tensor(shape: [3], data: [-2, 0, 1]))
        let l = DistillLoss.generator(fake: fake)
        #expect(abs(l.value.scalar - 1.0 / 3) < 1e-6)
        #expect(close(tape.backward(l)[fake].data, [-1.0 / 3, -1.0 / 3, -1.0 / 3]))
    }

    @Test func featureMatchingValueAndGradient() {
        let tape = Tape()
        let f1 = tape.variable(Tensor(shape: [1, 2, 1, 1], data: [1, 2]))
        let f2 = tape.variable(Tensor(shape: [1, 1, 1, 1], data: [3]))
        let real = [Tensor(shape: [1, 2, 1, 1], data: [0, 0]), Tensor(shape: [1, 1, 1, 1], data: [1])]
        let l = DistillLoss.featureMatching(fake: [f1, f2], real: real)
        // mean(1, 4) + mean(4) = 2.5 + 4.
        #expect(abs(l.value.scalar - 6.5) < 1e-6)
        let g = tape.backward(l)
        #expect(close(g[f1].data, [1, 2]))   // 2 * diff / 2
        #expect(close(g[f2].data, [4]))      // 2 * diff / 1
    }
}

@Suite struct LearningRateScheduleTests {
    /// Warm-up to the base rate, then the cosine: base at the end of the warm-up, base/2 half way, 0 at the last step.
    @Test func cosineDecayHandWorked() {
        let (base, warmup, total) = (Float(1e-3), 10, 110)
        #expect(cosineLearningRate(base: base, step: 5, warmup: warmup, total: total) == warmupLearningRate(base: base, step: 5, warmup: warmup))
        #expect(cosineLearningRate(base: base, step: 10, warmup: warmup, total: total) == base)
        #expect(abs(cosineLearningRate(base: base, step: 60, warmup: warmup, total: total) - base / 2) < 1e-9)
        #expect(abs(cosineLearningRate(base: base, step: 85, warmup: warmup, total: total) - base * 0.5 * (1 + Float(cos(0.75 * Double.pi)))) < 1e-9)
        #expect(cosineLearningRate(base: base, step: 110, warmup: warmup, total: total) == 0)
        #expect(cosineLearningRate(base: base, step: 200, warmup: warmup, total: total) == 0)
        var c = DistillConfig.preset("mnist")!
        #expect(c.learningRate(step: 700) == c.learningRate)
        c.cosineDecay = true
        #expect(c.learningRate(step: 700) < c.learningRate / 10)
        c.emaDecay = 1
        #expect(throws: DistillConfigError.self) { try c.validate() }
    }
}
