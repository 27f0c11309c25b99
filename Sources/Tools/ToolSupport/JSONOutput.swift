import Foundation

/// The `--json` output: exactly one JSON object on stdout, keys sorted so output is diffable and
/// stable across runs, for shell chains (`jq`) and job scripts.
public enum JSONOutput {
    /// The object as compact JSON text with sorted keys.
    ///
    /// Values may be any mix of String, Bool, integers, Float, Double, arrays, dictionaries with String
    /// keys, and optionals. Floats are written in their shortest round-trip form (0.9, not
    /// 0.8999999761581421); NaN, infinities and nil become null, since JSON has no such numbers.
    public static func string(_ object: [String: Any], pretty: Bool = false) throws -> String {
        let clean = sanitize(object)
        var options: JSONSerialization.WritingOptions = [.sortedKeys, .withoutEscapingSlashes]
        if pretty { options.insert(.prettyPrinted) }
        let data = try JSONSerialization.data(withJSONObject: clean, options: options)
        return String(decoding: data, as: UTF8.self)
    }

    /// Prints the object as one line on stdout.
    public static func print(_ object: [String: Any]) throws {
        Swift.print(try string(object))
    }

    /// Converts Swift values into what JSONSerialization accepts.
    static func sanitize(_ value: Any) -> Any {
        let mirror = Mirror(reflecting: value)
        if mirror.displayStyle == .optional {
            guard let inner = mirror.children.first?.value else { return NSNull() }
            return sanitize(inner)
        }
        switch value {
        case let v as Float: return v.isFinite ? (Double(v.description) ?? Double(v)) as Any : NSNull()
        case let v as Double: return v.isFinite ? v : NSNull()
        case let v as Bool: return v
        case let v as String: return v
        case let v as Int: return v
        case let v as Int32: return Int(v)
        case let v as Int64: return Int(v)
        case let v as UInt64: return v <= UInt64(Int.max) ? Int(v) as Any : v.description
        case let v as UInt32: return Int(v)
        case let v as [String: Any]: return v.mapValues { sanitize($0) }
        case let v as [Any]: return v.map { sanitize($0) }
        case is NSNull: return value
        default: return String(describing: value)
        }
    }
}
