/// A checkpoint that cannot be read into a model (bad input, exit 3 in the tools): the message names
/// the checkpoint or file and what is wrong with it.
public struct CheckpointError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
