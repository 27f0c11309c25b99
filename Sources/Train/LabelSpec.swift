import Foundation

/// A label list that is not `cycle` or a comma list of labels 0...K (a usage error, exit 2, in the tools).
public struct LabelSpecError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// Which class label each sample gets: `cycle` (sample i gets i mod K, so a grid has one row per
/// class) or an explicit comma list that is repeated to the sample count (`3` = all threes, `1,7`
/// alternates). Labels are 0...K-1, or K (the null label) for unconditional samples; K = 10 for MNIST.
public enum LabelSpec: Sendable, Equatable, CustomStringConvertible {
    case cycle
    case list([Int])

    public init(parsing text: String, numClasses: Int = 10) throws {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t == "cycle" { self = .cycle; return }
        var out: [Int] = []
        for part in t.split(separator: ",", omittingEmptySubsequences: false) {
            let p = part.trimmingCharacters(in: .whitespaces)
            guard let v = Int(p), v >= 0, v <= numClasses else {
                throw LabelSpecError(description: "--labels '\(text)': '\(p)' is not a label 0...\(numClasses) (\(numClasses) = unconditional); "
                                     + "use a comma list such as 3 or 1,7, or 'cycle'")
            }
            out.append(v)
        }
        self = .list(out)
    }

    /// The label of each of `count` samples.
    public func labels(count: Int, numClasses: Int = 10) -> [Int] {
        switch self {
        case .cycle: return (0..<count).map { numClasses > 0 ? $0 % numClasses : 0 }  // 0 classes: the null label
        case .list(let l): return (0..<count).map { l[$0 % l.count] }
        }
    }

    public var description: String {
        switch self {
        case .cycle: return "cycle"
        case .list(let l): return l.map(String.init).joined(separator: ",")
        }
    }
}
