import Foundation

/// Comma-separated option values (`--adv-probs`, `--cfg-range`, `--lora-targets`).
enum CommaList {
    /// "a,b,c" as numbers (spaces around each allowed); nil when empty or any part is not a number.
    static func numbers<T: LosslessStringConvertible>(_ text: String) -> [T]? {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { T($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.allSatisfy({ $0 != nil }) else { return nil }
        return parts.map { $0! }
    }

    /// "a,b" as names (no empty ones); nil otherwise.
    static func names(_ text: String) -> [String]? {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        return parts.isEmpty || parts.contains(where: \.isEmpty) ? nil : parts
    }
}
