import Testing
import NN
import TensorCore
import Train

/// A tiny random UNet whose output layer is perturbed so velocities are non-zero.
func rolloutTestModel(seed: UInt64 = 7) throws -> VelocityModel {
    let config = UNetConfig(channels: [8, 16], embedDim: 32)
    var w = UNet(config).initialParameters(seed: seed)
    for key in ["conv_out.weight", "conv_out.bias"] {
        let t = try #require(w[key])
        var g = SplitMix64(seed: streamSeed(seed, 99, UInt64(key.count)))
        w[key] = Tensor(shape: t.shape, data: g.normals(t.count).map { 0.05 * $0 })
    }
    return try VelocityModel(config: .unet(config), weights: w)
}

@Suite(.serialized) struct RolloutTests {
    let shape = [1, 28, 28]

    @Test func boundaryStatesAreEveryStepOfPlainEuler() throws {
        let model = try rolloutTestModel()
        for kind in ScheduleKind.allCases {
            let rollout = TeacherRollout(model: model, segments: 4, substeps: 3, schedule: kind, shift: 3,
                                         guidanceRange: (1.5, 2.5))
            #expect(rollout.teacherGrid.steps == 12)
            let seeds: [UInt64] = [3, 11, 42]
            let noise = Tensor.perSampleNoise(seeds: seeds, sampleShape: shape)
            let labels = [3, 1, 10], w: [Float] = [1, 2, 1.25]
            let states = rollout.boundaryStates(noise: noise, labels: labels, guidance: w)
            #expect(states.count == 5)
            #expect(states[0] == noise)

            // A hand-written Euler loop on the K*S grid, independent of Sampler, one sample at a time:
            // the batched rollout must give every sample exactly its solo trajectory.
            let sig = rollout.teacherGrid.sigmas
            for s in 0..<3 {
                var x = Tensor(shape: [1] + shape, data: Array(noise.data[(s * 784)..<((s + 1) * 784)]))
                var manual: [[Float]] = [x.data]
                for i in 0..<(sig.count - 1) {
                    let v = model.velocity(x, sigmas: [sig[i]], labels: [labels[s]], guidance: [w[s]])
                    for j in 0..<x.count { x.data[j] += (sig[i + 1] - sig[i]) * v.data[j] }
                    if (i + 1) % 3 == 0 { manual.append(x.data) }
                }
                let equal = manual == states.map { Array($0.data[(s * 784)..<((s + 1) * 784)]) }
                #expect(equal, "sample \(s), \(kind)")
                // The last state is Sampler.sample's result on the same grid.
                let alone = Sampler.sample(model, noise: Tensor(shape: [1] + shape, data: manual[0]), labels: [labels[s]],
                                           guidance: [w[s]], sigmas: sig)
                let sameAsSampler = alone.data == Array(states[4].data[(s * 784)..<((s + 1) * 784)])
                #expect(sameAsSampler, "sample \(s), \(kind)")
            }
            // Boundaries sit exactly on the student grid.
            for k in 0...4 { #expect(sig[k * 3] == rollout.studentGrid.sigmas[k]) }
            // A batched Sampler call gives the same bits (VelocityModel evaluates fixed row groups).
            let batched = Sampler.sample(model, noise: noise, labels: labels, guidance: w, sigmas: sig)
            #expect(batched == states[4])
            #expect(states[4] != states[3] && states[1] != states[0])
        }
    }

    @Test func trajectoriesDoNotDependOnBatchSizeOrThreads() throws {
        let model = try rolloutTestModel(seed: 3)
        let rollout = TeacherRollout(model: model, segments: 2, substeps: 2, guidanceRange: (1, 3))
        let seeds: [UInt64] = [0, 1, 2, 3, 4, 5, 17]
        // Thread counts are compared across processes in RolloutToolTests (--threads 1 vs 2): setting
        // ComputeThreads here would race with other suites' computations (it re-pins OpenBLAS).
        let reference = rollout.run(seeds: seeds, batchSize: seeds.count)
        #expect(reference.count == seeds.count)
        for bs in [1, 3, 4] {
            let same = rollout.run(seeds: seeds, batchSize: bs) == reference
            #expect(same, "batch size \(bs)")
        }
        let five = rollout.run(seeds: seeds, batchSize: 5) == reference
        #expect(five)
        // A sample alone, and after other seeds, gives the same row.
        let alone = rollout.trajectories(seeds: [17]) == [reference[6]]
        let after = rollout.trajectories(seeds: [99, 4]).last == reference[4]
        #expect(alone && after)
        // Rows hold (K+1) states; state 0 is the sample's own noise.
        let noise = Tensor.perSampleNoise(seeds: [5], sampleShape: shape)
        #expect(reference[5].states.count == rollout.rowFloats)
        #expect(Array(reference[5].states[0..<784]) == noise.data)
        #expect(reference[5].label == 5 && reference[6].label == 7)
    }

    @Test func guidanceDrawsAreReproducible() throws {
        let range: (lo: Float, hi: Float) = (1, 2)
        let draws = (0..<200).map { TeacherRollout.guidance(seed: UInt64($0), range: range) }
        #expect(draws == (0..<200).map { TeacherRollout.guidance(seed: UInt64($0), range: range) })
        #expect(draws.allSatisfy { $0 >= 1 && $0 < 2 })
        #expect(Set(draws).count > 190)
        let mean = draws.reduce(0, +) / Float(draws.count)
        #expect(abs(mean - 1.5) < 0.06)
        // The draw is the first uniform of the sample's guidance stream.
        var g = SplitMix64(seed: streamSeed(12, StreamPurpose.guidance))
        #expect(TeacherRollout.guidance(seed: 12, range: (1, 3)) == 1 + 2 * g.uniform())
        // A degenerate range gives exactly w.
        #expect(TeacherRollout.guidance(seed: 5, range: (1.75, 1.75)) == 1.75)

        let model = try rolloutTestModel()
        let rollout = TeacherRollout(model: model, segments: 1, substeps: 2, guidanceRange: range)
        let t = rollout.trajectories(seeds: [8, 9], labels: [2, 10])
        #expect(t.map(\.guidance) == [draws[8], draws[9]])
        #expect(t.map(\.label) == [2, 10])
        #expect(rollout.evaluations(guidance: 1) == 2 && rollout.evaluations(guidance: 1.5) == 4)
    }

    @Test func fixedSubgridSegmentsAreTheFixedFineGrid() throws {
        let model = try rolloutTestModel()
        let rollout = TeacherRollout(model: model, segments: 4, substeps: 8, schedule: .fixed, shift: 3,
                                     guidanceRange: (1, 1))
        let fine = SigmaSchedule.make(.fixed, steps: 32, shift: 3)
        for (a, b) in zip(rollout.teacherGrid.sigmas, fine.sigmas) { #expect(abs(a - b) <= 1e-6) }
        #expect(rollout.boundarySigmas == [1, 0.9, 0.75, 0.5, 0])
    }
}
