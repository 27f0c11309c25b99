/// The timestep shift of SD3-style flow matching, `sigma -> s*sigma / (1 + (s-1)*sigma)`.
///
/// A shift s > 1 moves sampling effort towards high noise. It maps [0, 1] onto itself and keeps the
/// endpoints, so schedules are built in "unshifted" time (where steps are uniform) and then shifted.
/// Kept in one place because schedules, sub-grids and the training sigma density must agree on it.
public enum SigmaShift {
    /// The shifted sigma, computed in Double (FlowSteer's grids round to Float once, at the end).
    @inlinable
    public static func apply(_ sigma: Double, shift: Double) -> Double {
        shift * sigma / (1 + (shift - 1) * sigma)
    }

    /// The inverse of `apply`: the unshifted time whose shift is `sigma`.
    @inlinable
    public static func invert(_ sigma: Double, shift: Double) -> Double {
        sigma / (shift - (shift - 1) * sigma)
    }

    /// The shift evaluated in Float with the operation order of a torch float32 tensor expression
    /// `shift * x / (1 + (shift - 1) * x)`; diffusers builds its 1000-step training table this way.
    @inlinable
    public static func applyFloat32(_ sigma: Float, shift: Float) -> Float {
        shift * sigma / (1 + (shift - 1) * sigma)
    }
}

/// `numpy.linspace(start, stop, num)` in Double with numpy's exact arithmetic (i*step + start, the last
/// point forced to `stop`), so schedules reproduce diffusers' float64 intermediate values bit for bit.
@usableFromInline
func numpyLinspace(_ start: Double, _ stop: Double, _ num: Int) -> [Double] {
    precondition(num >= 1, "linspace needs at least one point")
    if num == 1 { return [start] }
    let step = (stop - start) / Double(num - 1)
    var y = (0..<num).map { Double($0) * step + start }
    y[num - 1] = stop
    return y
}
