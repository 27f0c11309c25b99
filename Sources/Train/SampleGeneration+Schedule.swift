extension SampleGeneration {
    /// The sigma grid to sample a model with, given what its checkpoint records (`recorded`, nil for
    /// none). An explicit list (`sigmas`, comma-separated) wins; otherwise, when nothing is given and
    /// the model records its own grid (a student's `segments`/`sigmas`), that grid; otherwise the `kind`
    /// grid (default: the model's schedule, else `fixed`) with `steps` steps (default: the model's
    /// segment count, else 32) and `shift` (default: the model's, else 3). Bad values throw
    /// `ScheduleError` (they come from the command line).
    public static func schedule(for recorded: CheckpointManifest?, steps: Int?, kind: ScheduleKind?, shift: Float?,
                                sigmas: String?) throws -> SigmaSchedule {
        if let steps, !(1...100_000).contains(steps) { throw ScheduleError("--steps must be 1...100000, got \(steps)") }
        if let shift, !(shift > 0 && shift.isFinite) { throw ScheduleError("--shift must be a positive number, got \(shift)") }
        let s = shift ?? recorded?.shift ?? 3
        if let sigmas { return try SigmaSchedule(parsing: sigmas, shift: s) }
        if steps == nil, kind == nil, shift == nil, let own = recorded?.sigmas {
            return try SigmaSchedule(explicit: own, shift: s)
        }
        return SigmaSchedule.make(kind ?? recorded?.schedule ?? .fixed, steps: steps ?? recorded?.segments ?? 32, shift: s)
    }

    /// A JSON list of sigmas as Python reads it back exactly ("[1.0, 0.857692, 0.0]").
    public static func jsonList(_ values: [Float]) -> String {
        "[" + values.map(\.description).joined(separator: ", ") + "]"
    }
}
