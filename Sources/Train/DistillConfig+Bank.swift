/// A trajectory bank that does not fit the run (bad input, exit 3 in the tools): another teacher, or
/// another grid than the run's segments, schedule or shift.
public struct BankMismatch: Error, CustomStringConvertible, Sendable {
    public let description: String
}

extension DistillConfig {
    /// Takes a trajectory bank's defaults (K = `segments`, the bank's sub-steps and CFG range, each unless
    /// the command line set it: `keepSegments`, `keepSubsteps`, `keepCFGRange`) and refuses a bank rolled
    /// out by another teacher than `teacherHash` or on another grid than the run's. `name` names the bank.
    public mutating func adopt(bank m: BankManifest, segments k: Int, name: String, teacherHash: String,
                               keepSegments: Bool, keepSubsteps: Bool, keepCFGRange: Bool) throws {
        func refuse(_ s: String) -> BankMismatch { BankMismatch(description: "\(name) \(s)") }
        if let h = m.teacherHash, h != teacherHash {
            throw refuse("was rolled out by teacher \(h.prefix(12)), not by --teacher (\(teacherHash.prefix(12)))")
        }
        if !keepSegments { segments = k }
        if !keepSubsteps, let s = m.substeps { substeps = s }
        if !keepCFGRange, let g = m.cfgRange { (cfgLow, cfgHigh) = g }
        // ReFlow reads only the noise and the final state; its --segments/--schedule are the inference grid.
        guard method != .reflow else { return }
        if k != segments {
            throw refuse("holds K = \(k) segments per trajectory but --segments is \(segments); "
                         + "roll out a bank with --segments \(segments) or drop --segments")
        }
        if let s = m.schedule, s != schedule {
            throw refuse("was rolled out on the \(s.rawValue) grid but --schedule is \(schedule.rawValue)")
        }
        if let s = m.shift, abs(s - shift) > 1e-6 {
            throw refuse("was rolled out with shift \(s) but --shift is \(shift)")
        }
        let grid = SigmaSchedule.make(schedule, steps: segments, shift: shift).sigmas
        if let sigmas = m.boundarySigmas, sigmas.count != grid.count || zip(sigmas, grid).contains(where: { abs($0 - $1) > 1e-5 }) {
            throw refuse("boundaries \(sigmas) differ from the \(schedule.rawValue) grid \(grid)")
        }
    }
}
