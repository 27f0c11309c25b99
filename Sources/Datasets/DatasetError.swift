/// A dataset file that cannot be used: which file, and what is wrong with it.
///
/// The message always names the file, so a user seeing it in a Slurm log knows what to re-copy.
public struct DatasetError: Error, CustomStringConvertible, Sendable {
    /// Path of the offending file or directory.
    public let file: String
    /// What is wrong (missing, truncated, checksum mismatch, bad header, ...).
    public let problem: String

    public init(file: String, problem: String) {
        self.file = file
        self.problem = problem
    }

    public var description: String { "\(file): \(problem)" }
}
