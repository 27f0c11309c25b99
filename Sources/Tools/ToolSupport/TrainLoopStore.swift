import Store
import Train

extension TrainLoop {
    /// Wires the loop to a run in the store and to the tool's progress line and signal handling: metrics
    /// and status go to `run` (only on the rank that writes), signals come from `Interruption`.
    public mutating func attach(store: ArtifactStore, run: String, dp: DataParallelTool, progress: Progress) {
        ranks = dp.communicator.size
        writes = dp.writes
        recordMetrics = { try store.recordMetrics(run: run, $0.map { MetricPoint(step: $0.step, name: $0.name, value: $0.value) }) }
        setStatus = { try store.setRunStatus(run, $0.rawValue) }
        pendingSignal = { Interruption.pending }
        self.progress = { progress.update(completed: $0, detail: $1) }
        finishProgress = { progress.finish(detail: $0) }
    }
}

extension TrainLoopOutcome {
    /// Throws the tool's exit for a stop by a signal (128 + signal) with where it stopped and how to
    /// resume (`resume` is the command line); returns after a finished run.
    public func throwIfInterrupted(store: ArtifactStore, run: String, step: Int, resume: String) throws {
        guard case .interrupted(let signal, let checkpointed) = self else { return }
        throw Interruption.stopped(signal, checkpointed
            ? "checkpoint \(run)@\(step) written in \(store.path); run '\(run)' is marked interrupted. Resume with: \(resume)"
            : "under MPI the job stops without a new checkpoint; resume run '\(run)' from its last one with --resume")
    }
}
