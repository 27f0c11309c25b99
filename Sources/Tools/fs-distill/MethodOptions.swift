import ArgumentParser
import ToolSupport
import Train

/// What is distilled and on which grid: the method and its toggles, the segments and their schedule,
/// the teacher's sub-steps and guidance range, the PeRFlow pool.
struct MethodOptions: ParsableArguments {
    @Option(help: "reflow, perflow, flowsteer or pcm (default flowsteer).") var method: DistillMethod?
    @Flag(help: "FlowSteer: segment starts on the teacher's authentic trajectory (OTA).") var ota = false
    @Flag(help: "Solve the teacher during training: OTA from noise instead of --bank, PeRFlow windows instead of a pool.")
    var online = false
    @Option(help: "Share of distillation samples at the segment start sigma_k, the only point the student's step evaluates (default 0: uniform sigma_t in the segment, as PeRFlow).") var startShare: Float?
    @Option(help: "Starts of the distillation loss's segments (OTA): trajectory (the teacher's state z_k), rollout (the student's own steps from the noise, no gradients; target (z_{k+1} - start) / (sigma_{k+1} - sigma_k)) or backprop (rollout with gradients through the earlier steps; needs --start-share 1).")
    var distStart: DistillStart?
    @Option(help: "Segment weighting of the distillation loss: velocity (every sample's velocity MSE alike, PeRFlow's) or state (times (sigma_{k+1} - sigma_k)^2, normalised: the MSE of the state the step lands on).")
    var distWeight: DistillWeight?
    @Option(help: "Student segments K = inference steps (1, 2, 4 or 8; default: the bank's K, else 4).") var segments: Int?
    @Option(help: "Grid of the segment boundaries and of the student's steps: fixed or diffusers.") var schedule: ScheduleKind?
    @Option(help: "Schedule shift (default 3).") var shift: Float?
    @Option(help: "Teacher Euler sub-steps per segment (PeRFlow windows, online OTA).") var substeps: Int?
    @Option(help: "Teacher CFG range LO,HI: w ~ U[LO, HI] per pair (default: the bank's, else the preset's 1,2).")
    var cfgRange: String?
    @Option(help: "PeRFlow pool size: pairs generated from --seed at start, and again on --resume (default 4096).") var pairs: Int?

    func validate() throws {
        try OptionCheck.float("--start-share", startShare, .range(0...1))
        try OptionCheck.float("--shift", shift, .positive)
        try OptionCheck.int("--pairs", pairs, 1...Int.max)
        try OptionCheck.int("--substeps", substeps, 1...Int.max)
        if let r: [Float] = cfgRange.flatMap({ CommaList.numbers($0) }) {
            for v in r { try OptionCheck.float("--cfg-range", v, .nonNegative) }
        }
    }

    /// Sets the options given (all, with their defaults, for a new run: `fresh`). `--segments` defaults to
    /// the length of `--adv-probs` when that is given, so apply the adversarial options first.
    func apply(to c: inout DistillConfig, fresh: Bool) throws {
        if !fresh, let method { c.method = method }
        if fresh || ota { c.ota = ota }
        if fresh || online { c.online = online }
        if let startShare { c.startShare = startShare }
        if let distStart { c.distStart = distStart }
        if let distWeight { c.distWeight = distWeight }
        if let segments { c.segments = segments } else if fresh, let p = c.advProbs { c.segments = p.count }
        if fresh || schedule != nil { c.schedule = schedule ?? .fixed }
        if fresh || shift != nil { c.shift = shift ?? 3 }
        if let substeps { c.substeps = substeps }
        if let cfgRange {
            guard let parts: [Float] = CommaList.numbers(cfgRange), parts.count == 2 else {
                throw ToolError.usage("--cfg-range '\(cfgRange)': expected LO,HI, e.g. 1,2")
            }
            (c.cfgLow, c.cfgHigh) = (parts[0], parts[1])
        }
        if let pairs { c.pairs = pairs }
    }
}
