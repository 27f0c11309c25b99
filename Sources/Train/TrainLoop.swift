import Foundation

/// A training state the loop can drive: the step is its whole position (every draw is a pure function
/// of seed and step), so resuming is loading a state.
public protocol TrainLoopState {
    var step: Int { get }
}

extension TrainingState: TrainLoopState {}
extension DistillState: TrainLoopState {}

/// What one step reports to the loop.
public struct TrainLoopStep {
    /// The loss the divergence check follows (a window mean becomes the next steps' `lossScale`).
    public var loss: Float
    /// Every value to record for this step, in order.
    public var metrics: [(String, Float)]
    /// The progress line's text.
    public var detail: String

    public init(loss: Float, metrics: [(String, Float)], detail: String) {
        (self.loss, self.metrics, self.detail) = (loss, metrics, detail)
    }
}

/// One metric value (the tools map it onto their store's rows; Train does not know the store).
public struct TrainMetric: Equatable, Sendable {
    public var step: Int
    public var name: String
    public var value: Double
}

/// The run status the loop reports as it ends.
public enum TrainRunEnd: String, Sendable {
    case finished, failed, interrupted
}

/// Wall time so far, for the metrics a tool writes with each checkpoint.
public struct TrainLoopTiming: Sendable {
    /// Steps taken by this process.
    public var steps: Int
    /// Seconds since the loop started.
    public var elapsed: Double
    /// Mean seconds inside `step` per step.
    public var secondsPerStep: Double
}

/// How a loop ended without an error.
public enum TrainLoopOutcome: Equatable, Sendable {
    case finished
    /// Stopped by `signal`; `checkpointed` is false under MPI, where the last checkpoint stands.
    case interrupted(signal: Int32, checkpointed: Bool)
}

/// The training loop shared by fs-train and fs-distill: steps to `target`, a divergence reference
/// (the running mean of 50-step windows, smoothed 0.9/0.1), metrics flushed at every checkpoint,
/// checkpoints every `checkpointEvery` steps and at the end, and a stop at the next step after a signal
/// (with a checkpoint; under MPI without one, since ranks see the signal at different steps).
/// Everything that touches the store or the terminal is a closure the tool supplies; only the rank
/// that `writes` calls the writing ones.
public struct TrainLoop<State: TrainLoopState> {
    public var target: Int
    public var checkpointEvery: Int
    /// Ranks sharing the steps (MPI); with more than one a signal stops without a checkpoint.
    public var ranks = 1
    /// Whether this rank writes metrics, checkpoints and the run status.
    public var writes = true
    /// Steps whose metrics are already recorded (a kill after the metrics, before the checkpoint): not repeated.
    public var recordedUpTo = 0

    /// One step; `lossScale` is the divergence reference. Throws `TrainingDiverged` leaving the state as it was.
    public var step: (inout State, _ lossScale: Float?) throws -> TrainLoopStep
    public var recordMetrics: ([TrainMetric]) throws -> Void = { _ in }
    public var saveCheckpoint: (State) throws -> Void = { _ in }
    public var setStatus: (TrainRunEnd) throws -> Void = { _ in }
    /// Extra values written with each checkpoint's metrics (throughput).
    public var checkpointMetrics: (TrainLoopTiming) -> [(String, Double)] = { _ in [] }
    /// The signal received so far, polled after every step.
    public var pendingSignal: () -> Int32? = { nil }
    public var progress: (_ step: Int, _ detail: String) -> Void = { _, _ in }
    public var finishProgress: (_ lastDetail: String?) -> Void = { _ in }

    /// The last step's report, and the timing, after `run`.
    public private(set) var last: TrainLoopStep?
    public private(set) var timing = TrainLoopTiming(steps: 0, elapsed: 0, secondsPerStep: 0)

    public init(target: Int, checkpointEvery: Int, step: @escaping (inout State, Float?) throws -> TrainLoopStep) {
        (self.target, self.checkpointEvery, self.step) = (target, checkpointEvery, step)
    }

    /// Steps `state` until `target` or a signal. A `TrainingDiverged` is rethrown after the pending
    /// metrics are written and the run marked failed (the last good checkpoint stands).
    public mutating func run(_ state: inout State) throws -> TrainLoopOutcome {
        let t0 = Date()
        var window: [Float] = [], reference: Float?, pending: [TrainMetric] = []
        var inStep = 0.0
        func updateTiming(_ taken: Int) {
            timing = TrainLoopTiming(steps: taken, elapsed: Date().timeIntervalSince(t0),
                                     secondsPerStep: inStep / Double(max(1, taken)))
        }
        var taken = 0
        while state.step < target {
            let ts = Date()
            let r: TrainLoopStep
            do { r = try step(&state, reference) } catch let e as TrainingDiverged {
                if writes { try recordMetrics(pending); try setStatus(.failed) }
                throw e
            }
            inStep += Date().timeIntervalSince(ts)
            taken += 1
            last = r
            let s = state.step
            if s > recordedUpTo { pending += r.metrics.map { TrainMetric(step: s, name: $0.0, value: Double($0.1)) } }
            window.append(r.loss)
            if window.count == 50 {
                let mean = window.reduce(0, +) / 50
                reference = reference.map { 0.9 * $0 + 0.1 * mean } ?? mean
                window.removeAll()
            }
            progress(s, r.detail)
            let signal = pendingSignal()
            if let signal, ranks > 1 {
                if writes { try setStatus(.interrupted) }
                updateTiming(taken)
                return .interrupted(signal: signal, checkpointed: false)
            }
            if s % checkpointEvery == 0 || s == target || signal != nil {
                updateTiming(taken)
                if s > recordedUpTo {
                    pending += checkpointMetrics(timing).map { TrainMetric(step: s, name: $0.0, value: $0.1) }
                }
                if writes { try recordMetrics(pending); try saveCheckpoint(state) }
                pending.removeAll()
            }
            if let signal {
                finishProgress(r.detail)
                if writes { try setStatus(.interrupted) }
                return .interrupted(signal: signal, checkpointed: true)
            }
        }
        updateTiming(taken)
        finishProgress(last?.detail)
        if writes { try setStatus(.finished) }
        return .finished
    }
}
