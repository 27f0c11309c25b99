import Foundation
import Testing
@testable import Train

/// A counter standing in for a trainer: each step adds one and reports `losses[step - 1]`.
private struct Counter: TrainLoopState { var step = 0 }

/// Records what the loop asked its tool to do, in order.
private final class Log {
    var events: [String] = []
    var metrics: [TrainMetric] = []
}

private func loop(_ log: Log, target: Int, every: Int, losses: @escaping (Int) -> Float = { _ in 1 },
                  signalAt: Int? = nil, ranks: Int = 1) -> TrainLoop<Counter> {
    var l = TrainLoop<Counter>(target: target, checkpointEvery: every) { s, _ in
        let loss = losses(s.step + 1)
        if !loss.isFinite { throw TrainingDiverged(step: s.step + 1, loss: loss) }
        s.step += 1
        return TrainLoopStep(loss: loss, metrics: [("loss", loss)], detail: "")
    }
    var current = 0
    l.ranks = ranks
    l.progress = { step, _ in current = step }
    l.pendingSignal = { signalAt.map { current >= $0 ? 15 : nil } ?? nil }
    l.recordMetrics = { log.metrics += $0; log.events.append("metrics \($0.map(\.step))") }
    l.saveCheckpoint = { log.events.append("checkpoint \($0.step)") }
    l.setStatus = { log.events.append($0.rawValue) }
    l.checkpointMetrics = { [("steps_taken", Double($0.steps))] }
    return l
}

@Suite struct TrainLoopTests {
    @Test func checkpointsOnCadenceAndAtTheEnd() throws {
        let log = Log()
        var l = loop(log, target: 5, every: 2)
        var s = Counter()
        #expect(try l.run(&s) == .finished)
        #expect(s.step == 5)
        #expect(log.events == ["metrics [1, 2, 2]", "checkpoint 2", "metrics [3, 4, 4]", "checkpoint 4",
                               "metrics [5, 5]", "checkpoint 5", "finished"])
        #expect(log.metrics.filter { $0.name == "steps_taken" }.map(\.value) == [2, 4, 5])
    }

    @Test func resumesFromTheStatesStepAndSkipsRecordedMetrics() throws {
        let log = Log()
        var l = loop(log, target: 4, every: 2)
        l.recordedUpTo = 3
        var s = Counter(step: 2)
        #expect(try l.run(&s) == .finished)
        #expect(log.events == ["metrics [4, 4]", "checkpoint 4", "finished"])
        #expect(log.metrics.map(\.step) == [4, 4])
        #expect(l.timing.steps == 2)
    }

    @Test func divergenceWritesPendingMetricsAndFails() throws {
        let log = Log()
        var l = loop(log, target: 10, every: 5, losses: { $0 == 3 ? .nan : 1 })
        var s = Counter()
        #expect(throws: TrainingDiverged.self) { try l.run(&s) }
        #expect(s.step == 2)
        #expect(log.events == ["metrics [1, 2]", "failed"])
    }

    @Test func explodingLossMeetsTheWindowReference() throws {
        // After 50 steps at loss 1 the reference is 1; the trainer sees it as lossScale.
        var seen: [Float?] = []
        var l = TrainLoop<Counter>(target: 52, checkpointEvery: 100) { s, ref in
            seen.append(ref); s.step += 1
            return TrainLoopStep(loss: 1, metrics: [], detail: "")
        }
        var s = Counter()
        _ = try l.run(&s)
        #expect(seen[49] == nil && seen[50] == 1 && seen[51] == 1)
    }

    @Test func signalStopsWithACheckpoint() throws {
        let log = Log()
        var l = loop(log, target: 10, every: 4, signalAt: 3)
        var s = Counter()
        #expect(try l.run(&s) == .interrupted(signal: 15, checkpointed: true))
        #expect(s.step == 3)
        #expect(log.events == ["metrics [1, 2, 3, 3]", "checkpoint 3", "interrupted"])
    }

    @Test func signalUnderMPIStopsWithoutACheckpoint() throws {
        let log = Log()
        var l = loop(log, target: 10, every: 2, signalAt: 3, ranks: 2)
        var s = Counter()
        #expect(try l.run(&s) == .interrupted(signal: 15, checkpointed: false))
        #expect(log.events == ["metrics [1, 2, 2]", "checkpoint 2", "interrupted"])
    }

    @Test func aRankThatDoesNotWriteWritesNothing() throws {
        let log = Log()
        var l = loop(log, target: 3, every: 1)
        l.writes = false
        var s = Counter()
        #expect(try l.run(&s) == .finished)
        #expect(log.events.isEmpty && s.step == 3)
    }
}
