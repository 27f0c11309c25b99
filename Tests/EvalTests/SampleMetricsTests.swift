import Testing
import TensorCore
@testable import Eval

@Suite struct SampleMetricsTests {
    @Test func classAccuracyCountsArgmaxHits() throws {
        let logits = Tensor(shape: [4, 3], data: [
            0.1, 0.9, 0.0,   // 1
            2.0, 2.0, 1.0,   // tie -> 0
            -1, -2, -0.5,    // 2
            0, 0, 1,         // 2
        ])
        #expect(argmaxRows(logits) == [1, 0, 2, 2])
        #expect(try classAccuracy(logits: logits, labels: [1, 0, 2, 0]) == 0.75)
        #expect(throws: EvalError.self) { try classAccuracy(logits: logits, labels: [1, 0, 2]) }
        #expect(throws: EvalError.self) { try classAccuracy(logits: logits, labels: [1, 0, 2, 3]) }
    }

    @Test func trajectoryMSE() throws {
        let a = Tensor(shape: [2, 1, 1, 2], data: [0, 0, 1, 1])
        let b = Tensor(shape: [2, 1, 1, 2], data: [1, 0, 1, -1])
        let f = try TrajectoryFidelity(student: a, teacher: b)
        #expect(f.perSample == [0.5, 2.0])
        #expect(f.mse == 1.25)
        #expect(try TrajectoryFidelity(student: a, teacher: a).mse == 0)
        #expect(throws: EvalError.self) { try TrajectoryFidelity(student: a, teacher: Tensor(zeros: [2, 2])) }
        // Both are clamped to the pixel range first: overshoot beyond white or black costs nothing.
        let over = Tensor(shape: [2, 1, 1, 2], data: [0, -3, 2, 1])
        #expect(try TrajectoryFidelity(student: over, teacher: b).perSample == [1.0, 2.0])
    }
}
