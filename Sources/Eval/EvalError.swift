/// Failures of the evaluation numerics. Each case names what was wrong with the input so a caller
/// (for example `fs-eval`) can report a corrupt statistics file or mis-shaped samples clearly
/// instead of printing a meaningless number.
public enum EvalError: Error, Equatable, CustomStringConvertible {
    /// Two operands disagree in feature dimension (for example statistics of different networks).
    case dimensionMismatch(expected: Int, got: Int)
    /// A tensor or array does not have the shape the operation needs.
    case badShape(what: String, shape: [Int], expected: String)
    /// Too few samples for the requested statistic (unbiased covariance needs two).
    case tooFewSamples(needed: Int, got: Int)
    /// NaN or infinity where only finite values make sense.
    case nonFinite(what: String)
    /// A matrix that should be a covariance is clearly not symmetric positive semidefinite
    /// (beyond rounding), which means the statistics are corrupt.
    case notCovariance(what: String, detail: String)
    /// LAPACK reported a failure (`info` as returned by the routine).
    case lapack(routine: String, info: Int)
    /// A statistics file lacks `mu`/`sigma`, stores them with the wrong dtype or shape, or was made
    /// with a different feature network.
    case badStatisticsFile(file: String, reason: String)
    /// The feature network's weights are missing or are not the ones this build was made with.
    case badFeatureNetwork(reason: String)

    public var description: String {
        switch self {
        case let .dimensionMismatch(e, g): "feature dimension mismatch: expected \(e), got \(g)"
        case let .badShape(w, s, e): "\(w) has shape \(s), expected \(e)"
        case let .tooFewSamples(n, g): "need at least \(n) samples, got \(g)"
        case let .nonFinite(w): "\(w) contains NaN or infinity"
        case let .notCovariance(w, d): "\(w) is not a valid covariance matrix: \(d)"
        case let .lapack(r, i): "LAPACK \(r) failed with info = \(i)"
        case let .badStatisticsFile(f, r): "\(f): not usable feature statistics: \(r)"
        case let .badFeatureNetwork(r): "feature network: \(r)"
        }
    }
}
