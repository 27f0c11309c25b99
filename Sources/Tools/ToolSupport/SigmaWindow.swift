import Train

/// The part of a sigma grid a run covers: from `start` down to `stop`, both points of the grid.
///
/// Resuming a trajectory must walk exactly the points the uninterrupted run walks, so a run that
/// stops at sigma_k and a run that starts there split one grid instead of building two: their
/// concatenation is the full grid, and the resumed result is the uninterrupted one bit for bit.
public enum SigmaWindow {
    /// How far a requested sigma may be from a grid point (user input such as 0.9 against a grid
    /// value computed in Double and rounded to Float).
    public static let tolerance: Float = 1e-6

    /// `grid` cut to start at `start` and stop at `stop` (nil: its first / last point). The values are
    /// the grid's own, never the requested ones. `start == stop` leaves one point (no step).
    /// Throws a usage error naming the option when a value is not a point of the grid.
    public static func cut(_ grid: [Float], start: Float?, stop: Float?) throws -> [Float] {
        precondition(!grid.isEmpty, "SigmaWindow.cut: empty grid")
        func index(_ value: Float?, _ option: String, default d: Int) throws -> Int {
            guard let value else { return d }
            guard let i = grid.firstIndex(where: { abs($0 - value) <= tolerance }) else {
                throw ToolError.usage("\(option) \(value) is not a point of the sigma grid "
                                      + "\(SampleGeneration.jsonList(grid)) (give one of its values)")
            }
            return i
        }
        let first = try index(start, "--start-sigma", default: 0)
        let last = try index(stop, "--stop-sigma", default: grid.count - 1)
        guard first <= last else {
            throw ToolError.usage("--start-sigma \(grid[first]) comes after --stop-sigma \(grid[last]) "
                                  + "(sigmas decrease from noise to image)")
        }
        return Array(grid[first...last])
    }
}
