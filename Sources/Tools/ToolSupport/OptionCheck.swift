import ArgumentParser

/// The one validator of numeric command-line options, so every tool refuses NaN, infinities and
/// out-of-range values the same way (exit 2, naming the flag, the value and what is allowed).
/// `Float("nan")` and `Float("inf")` parse, so without this a `--cfg nan` sails through.
///
///     try OptionCheck.float("--cfg", cfg)                          // finite
///     try OptionCheck.float("--shift", shift, .positive)
///     try OptionCheck.int("--steps", steps, 1...100_000)
public enum OptionCheck {
    public enum Requirement: Sendable {
        case finite, positive, nonNegative
        case range(ClosedRange<Double>)

        var text: String {
            switch self {
            case .finite: return "a finite number"
            case .positive: return "a positive finite number"
            case .nonNegative: return "a finite number >= 0"
            case .range(let r): return "a number in [\(r.lowerBound), \(r.upperBound)]"
            }
        }

        func admits(_ v: Double) -> Bool {
            guard v.isFinite else { return false }
            switch self {
            case .finite: return true
            case .positive: return v > 0
            case .nonNegative: return v >= 0
            case .range(let r): return r.contains(v)
            }
        }
    }

    /// Throws a usage error unless `value` (when given) meets `requirement`.
    public static func float<F: BinaryFloatingPoint>(_ flag: String, _ value: F?, _ requirement: Requirement = .finite) throws {
        guard let value else { return }
        let v = Double(value)
        guard requirement.admits(v) else {
            throw ValidationError("\(flag) must be \(requirement.text), got \(v)")
        }
    }

    /// Runs a check inside `validate()`: ArgumentParser wraps any error but `ValidationError` thrown
    /// there into a plain failure (exit 1), so a `ToolError` is re-thrown as a `ValidationError` (exit 2).
    public static func inValidate(_ body: () throws -> Void) throws {
        do { try body() } catch let e as ToolError { throw ValidationError(e.message) }
    }

    /// Throws a usage error unless `value` (when given) lies in `range`.
    public static func int<I: BinaryInteger>(_ flag: String, _ value: I?, _ range: ClosedRange<Int>) throws {
        guard let value else { return }
        guard let v = Int(exactly: value), range.contains(v) else {
            let allowed = range.upperBound == Int.max ? "at least \(range.lowerBound)" : "\(range.lowerBound)...\(range.upperBound)"
            throw ValidationError("\(flag) must be \(allowed), got \(value)")
        }
    }
}
