import Store

extension ArtifactStore {
    /// Runs `body` (the part of a job after `beginRun`) and, if it throws while the run is still marked
    /// `running`, marks it `failed` before rethrowing: a refusal or an I/O error never leaves a run that
    /// looks alive. Paths that set their own status (diverged, interrupted) keep it.
    public func guardingRun<T>(_ run: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            failIfRunning(run)
            throw error
        }
    }

    /// Marks `run` failed if it is still `running` (for a `defer` after `beginRun`).
    public func failIfRunning(_ run: String) {
        if let r = try? self.run(run), r.status == RunStatus.running { try? setRunStatus(run, RunStatus.failed) }
    }
}
