import Foundation
import NN
import TensorCore
import Testing
@testable import Train

/// `--adv-state clean`: D judges each segment's line carried on to sigma 0 instead of its end state.
@Suite struct AdversarialStateTests {
    static let teacher = DistillFixtures.teacher()

    static func trainer(_ state: AdversarialState?) throws -> DistillTrainer {
        var c = DistillFixtures.tinyConfig(.flowsteer, ota: true, adversarial: true, lambdaAdv: 1, lambdaFM: 1, steps: 3)
        c.advBatchSize = 6
        c.advState = state
        return try DistillFixtures.trainer(c, teacher: teacher)
    }

    /// The teacher's clean state lies on the segment's line past its end, at sigma 0; the default is the end state.
    @Test func teachersCleanStateContinuesTheSegmentsLine() throws {
        let end = try Self.trainer(nil), clean = try Self.trainer(.clean)
        let ap = clean.data.adversarialPairs(step: 2)
        #expect(Set(ap.segments).count == 2, "the batch should hold both segments")
        #expect(end.judgedSigmas(ap) == ap.segments.map { end.grid.end($0) })
        #expect(end.teacherJudgedStates(ap).data == ap.ends)
        #expect(clean.judgedSigmas(ap) == [Float](repeating: 0, count: ap.count))
        let x0 = clean.teacherJudgedStates(ap).data
        let f = ap.sampleFloats
        for i in 0..<ap.count {
            let sk = clean.grid.start(ap.segments[i]), sk1 = clean.grid.end(ap.segments[i])
            for q in stride(from: i * f, to: (i + 1) * f, by: 37) {
                // Same velocity before and after the end: (end - start) / (sk1 - sk) = (x0 - end) / (0 - sk1).
                let v = (ap.ends[q] - ap.starts[q]) / (sk1 - sk)
                #expect(abs(x0[q] - (ap.ends[q] - sk1 * v)) <= 1e-4 * max(1, abs(x0[q])), "sample \(i) float \(q)")
            }
            if sk1 == 0 { #expect(abs(x0[i * f] - ap.ends[i * f]) <= 1e-6, "the last segment already ends at sigma 0") }
        }
    }

    /// The student's fake for D is its step carried to sigma 0, so fake - real is sigma_k (v_theta - v*) there
    /// against (sigma_{k+1} - sigma_k) (v_theta - v*) at the end state: larger by sigma_k / (sigma_k - sigma_{k+1}).
    @Test func cleanFakesMagnifyTheVelocityError() throws {
        let end = try Self.trainer(nil), clean = try Self.trainer(.clean)
        let ap = clean.data.adversarialPairs(step: 2)
        let state = clean.initialState()
        // A student that is not the teacher (the tiny bank's one-sub-step segments are the teacher's own steps).
        var student = state.student
        for q in student["conv_out.weight"]!.data.indices { student["conv_out.weight"]!.data[q] *= 1.25 }
        let zk = ap.tensor(ap.starts), sk = ap.segments.map { clean.grid.start($0) }
        func gap(_ t: DistillTrainer) -> [Float] {
            let tape = Tape(recordsPullbacks: false)
            let g = t.generatorAdversarialTerms(t.discriminator!, disc: tape.bind(state.disc, trainable: false),
                                                student: tape.bind(student), start: zk, sigmas: sk,
                                                nextSigmas: t.judgedSigmas(ap), labels: ap.labels, real: t.teacherJudgedStates(ap))
            let d = zip(g.fake.value.data, t.teacherJudgedStates(ap).data).map { $0 - $1 }
            let f = ap.sampleFloats
            return (0..<ap.count).map { i in d[(i * f)..<((i + 1) * f)].map { $0 * $0 }.reduce(0, +).squareRoot() }
        }
        let ge = gap(end), gc = gap(clean)
        for i in 0..<ap.count where ap.segments[i] == 0 {
            let sk = clean.grid.start(0), sk1 = clean.grid.end(0)
            #expect(ge[i] > 0)
            #expect(abs(gc[i] / ge[i] - sk / (sk - sk1)) <= 1e-2 * sk / (sk - sk1), "sample \(i): \(gc[i]) vs \(ge[i])")
        }
    }

    /// A training step judges at sigma 0: D moves differently from the default's, resumed runs decode the choice,
    /// and the option needs --adversarial.
    @Test func stepsDifferAndTheChoiceIsRecorded() throws {
        let end = try Self.trainer(nil), clean = try Self.trainer(.clean)
        var a = end.initialState(), b = clean.initialState()
        for _ in 0..<2 { _ = try end.step(&a); _ = try clean.step(&b) }
        #expect(a.disc != b.disc)
        let m = try clean.step(&b)
        #expect(m.lossD.map(\.isFinite) == true && m.dAccuracy != nil)

        let json = try JSONEncoder().encode(clean.config)
        #expect(String(decoding: json, as: UTF8.self).contains("\"adv_state\":\"clean\""))
        #expect(try JSONDecoder().decode(DistillConfig.self, from: json).advState == .clean)
        var c = clean.config
        c.adversarial = false
        #expect(throws: DistillConfigError.self) { try c.validate() }
    }
}
