import Foundation

/// Which N-step sigma grid to build (docs/design.md; paper §6).
public enum ScheduleKind: String, CaseIterable, Sendable, Codable {
    /// FlowSteer's corrected grid: N+1 points linear from 1 to 0, shifted once. Every step, the last
    /// included, gets the share of the sigma range the shift intends (4 steps, shift 3: 1, .9, .75, .5, 0).
    case fixed
    /// diffusers' `FlowMatchEulerDiscreteScheduler.set_timesteps(N)`: N points linear between the
    /// already-shifted sigma_max and sigma_min of the 1000-step table, shifted again, then 0 appended.
    /// Reproduced exactly because it is the baseline whose flaw the paper fixes
    /// (4 steps, shift 3: 1, .857692, .602151, .008929, 0).
    case diffusers
}

/// Errors from building a schedule out of user input.
public struct ScheduleError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// An N-step sampling grid: N+1 decreasing sigmas ending in 0. The model is evaluated at the first N;
/// Euler step i goes from `sigmas[i]` to `sigmas[i+1]`.
///
/// Besides the sigmas it remembers the shift and the unshifted positions the grid was built from, so
/// `subdivided(substeps:)` can place a teacher's sub-steps uniformly in unshifted time inside each segment.
public struct SigmaSchedule: Sendable, Equatable {
    /// N+1 values, strictly decreasing from at most 1, the last one 0.
    public let sigmas: [Float]
    /// The shift s of `sigma -> s*sigma/(1+(s-1)*sigma)` used to build (and subdivide) the grid.
    public let shift: Float
    /// The grid in unshifted time: `sigmas[i]` is the shift of `unshifted[i]` (rounded to Float).
    public let unshifted: [Double]

    /// Number of Euler steps (model evaluations without guidance).
    public var steps: Int { sigmas.count - 1 }

    /// What the network is fed at each of the N evaluations: 1000 * sigma in Float, as diffusers does.
    public var timesteps: [Float] { sigmas.dropLast().map { $0 * 1000 } }

    /// The N step sizes `sigmas[i] - sigmas[i+1]` (positive).
    public var stepSizes: [Float] { (0..<steps).map { sigmas[$0] - sigmas[$0 + 1] } }

    init(sigmas: [Float], shift: Float, unshifted: [Double]) {
        self.sigmas = sigmas
        self.shift = shift
        self.unshifted = unshifted
    }

    /// The N-step grid of the given kind for shift `shift` (1 = no shift).
    public static func make(_ kind: ScheduleKind, steps: Int, shift: Float) -> SigmaSchedule {
        precondition(steps >= 1, "SigmaSchedule.make: steps must be at least 1, got \(steps)")
        precondition(shift > 0 && shift.isFinite, "SigmaSchedule.make: shift must be positive, got \(shift)")
        switch kind {
        case .fixed: return fixed(steps: steps, shift: shift)
        case .diffusers: return diffusers(steps: steps, shift: shift)
        }
    }

    /// linspace(1, 0, N+1) in Double, shifted once, rounded to Float once.
    static func fixed(steps n: Int, shift: Float) -> SigmaSchedule {
        let u = numpyLinspace(1, 0, n + 1)
        let s = Double(shift)
        return SigmaSchedule(sigmas: u.map { Float(SigmaShift.apply($0, shift: s)) }, shift: shift, unshifted: u)
    }

    /// diffusers' default path with `num_train_timesteps = 1000`, with its precisions: the training table
    /// is a float32 torch tensor (so sigma_min is the float32 shift of float32(0.001)); set_timesteps works
    /// in numpy float64 (linspace, /1000, second shift) and converts to float32 at the end.
    static func diffusers(steps n: Int, shift: Float) -> SigmaSchedule {
        let trainSteps = 1000
        // Table ends: sigma_max is the shift of 1000/1000 = 1, sigma_min the shift of 1/1000 (float32).
        let sigmaMax = SigmaShift.applyFloat32(Float(trainSteps) / Float(trainSteps), shift: shift)
        let sigmaMin = SigmaShift.applyFloat32(Float(1) / Float(trainSteps), shift: shift)
        let t = numpyLinspace(Double(sigmaMax) * Double(trainSteps), Double(sigmaMin) * Double(trainSteps), n)
        let u = t.map { $0 / Double(trainSteps) } + [0]
        let s = Double(shift)
        return SigmaSchedule(sigmas: u.map { Float(SigmaShift.apply($0, shift: s)) }, shift: shift, unshifted: u)
    }

    /// A user-given grid, for example from `--sigmas`. A trailing 0 is appended when missing. `shift` is
    /// only used to place sub-steps in `subdivided(substeps:)`; the sigmas are taken as given.
    public init(explicit given: [Float], shift: Float = 1) throws {
        guard !given.isEmpty else { throw ScheduleError("explicit sigma list is empty") }
        guard shift > 0 && shift.isFinite else { throw ScheduleError("shift must be positive, got \(shift)") }
        var values = given
        if values.last != 0 { values.append(0) }
        for (i, v) in values.enumerated() where !(v >= 0 && v <= 1) {
            throw ScheduleError("sigma #\(i) = \(v) is outside [0, 1]")
        }
        for i in 1..<values.count where !(values[i] < values[i - 1]) {
            throw ScheduleError("sigmas must strictly decrease: #\(i - 1) = \(values[i - 1]), #\(i) = \(values[i])")
        }
        let s = Double(shift)
        self.init(sigmas: values, shift: shift, unshifted: values.map { SigmaShift.invert(Double($0), shift: s) })
    }

    /// Parses a comma-separated explicit list such as "1,0.9,0.75,0.5" (a trailing 0 is optional).
    public init(parsing text: String, shift: Float = 1) throws {
        var values: [Float] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            guard let v = Float(trimmed), v.isFinite else {
                throw ScheduleError("'\(trimmed)' in sigma list '\(text)' is not a number")
            }
            values.append(v)
        }
        try self.init(explicit: values, shift: shift)
    }
}
