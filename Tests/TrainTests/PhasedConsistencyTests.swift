import TensorCore
import TestSupport
import Testing
@testable import Train

/// The PCM loss on a toy flow whose phase maps are known exactly: all data at one point c, so the
/// flow-matching velocity is v(x, t) = (x - c) / t and every ODE path is a straight line to c.
@Suite struct PhasedConsistencyTests {
    static let c = randomTensor([3, 1, 2, 2], seed: 7)
    static let t: [Float] = [0.9, 0.6, 0.3]
    static let next: [Float] = [0.8, 0.5, 0.25]
    static let ends: [Float] = [0.75, 0.5, 0.0]

    /// v = (x - c) / t per sample, times `scale` (1: the exact velocity).
    static func velocity(_ x: Tensor, _ t: [Float], scale: Float = 1) -> Tensor {
        var d = x
        d.add(c, scale: -1)
        return d.scaledPerSample(t.map { scale / $0 })
    }

    /// The loss of a student with velocity `scale` times the exact one, teacher and target exact.
    static func loss(studentScale: Float) -> Float {
        let x = randomTensor(c.shape, seed: 8)
        // The teacher's Euler step along a straight path is exact.
        var xNext = x
        xNext.add(velocity(x, t).scaledPerSample(zip(next, t).map { $0 - $1 }))
        let target = PhasedConsistency.phaseMap(xNext, velocity: velocity(xNext, next), sigmas: next, ends: ends)
        let tape = Tape()
        let v = tape.constant(velocity(x, t, scale: studentScale))
        return PhasedConsistency.loss(PhasedConsistency.phaseMap(x, velocity: v, sigmas: t, ends: ends), target: target).value.scalar
    }

    @Test func lossIsZeroForTheExactPhaseMap() {
        #expect(Self.loss(studentScale: 1) < 1e-10)
        // A student off the flow is penalised (the last sample ends at t' = phase end: target = x_t' itself).
        #expect(Self.loss(studentScale: 1.1) > 1e-4)
    }

    @Test func theExactPhaseMapLandsOnThePhaseEnd() {
        // f(x_t, t) = c + end (x_t - c) / t, the straight path's state at the phase end.
        let x = randomTensor(Self.c.shape, seed: 9)
        let f = PhasedConsistency.phaseMap(x, velocity: Self.velocity(x, Self.t), sigmas: Self.t, ends: Self.ends)
        var expected = x
        expected.add(Self.c, scale: -1)
        expected = expected.scaledPerSample(zip(Self.ends, Self.t).map { $0 / $1 })
        expected.add(Self.c)
        #expect(maxAbsDifference(f, expected) < 1e-6)
    }

    @Test func gradientMatchesFiniteDifferences() {
        let v = randomTensor(Self.c.shape, seed: 10)
        let x = randomTensor(Self.c.shape, seed: 11)
        let target = randomTensor(Self.c.shape, seed: 12)
        let err = gradCheck([v], probes: 12, step: 1e-2) { vars in
            PhasedConsistency.loss(PhasedConsistency.phaseMap(x, velocity: vars[0], sigmas: Self.t, ends: Self.ends), target: target)
        }
        #expect(err < 1e-2)
    }

    @Test func drawsStayInsideThePhase() {
        var rng = SplitMix64(seed: 1)
        let grid = SegmentGrid(kind: .fixed, segments: 4, shift: 3, substeps: 3)
        for _ in 0..<50 {
            let d = PhasedConsistency.draw(&rng, images: 5, phases: 4, substeps: 3, cfgLow: 1, cfgHigh: 2)
            let sub = grid.teacherSigmas(segment: d.phase)
            #expect(sub[d.substep] <= grid.start(d.phase) && sub[d.substep + 1] >= grid.end(d.phase))
            #expect(sub[d.substep + 1] < sub[d.substep] && d.image < 5 && (1...2).contains(d.guidance))
        }
    }
}
