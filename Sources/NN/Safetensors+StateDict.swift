import TensorCore

extension Safetensors {
    /// Reads an all-F32 file as a `StateDict` (keys in file order) and its `__metadata__`.
    /// Throws naming the file and tensor if any tensor is not F32.
    public static func readStateDict(path: String) throws -> (StateDict, [(key: String, value: String)]) {
        let file = try read(path: path)
        return (try file.stateDict(source: path), file.metadata ?? [])
    }

    /// Writes a `StateDict` as F32 tensors, sorted like PyTorch's package, with `metadata`
    /// as `__metadata__` (omitted when nil).
    public static func write(stateDict: StateDict, metadata: [(key: String, value: String)]?, to path: String) throws {
        try write(SafetensorsFile(stateDict: stateDict, metadata: metadata), to: path)
    }
}

extension SafetensorsFile {
    /// F32 entries for every tensor of `stateDict`, in its key order.
    public init(stateDict: StateDict, metadata: [(key: String, value: String)]? = nil) {
        self.init(entries: stateDict.items.map { SafetensorsEntry(name: $0.0, tensor: $0.1) }, metadata: metadata)
    }

    /// The entries as a `StateDict`; every entry must be F32.
    public func stateDict(source: String = "<memory>") throws -> StateDict {
        var sd = StateDict()
        for e in entries { sd[e.name] = try e.tensor(file: source) }
        return sd
    }
}
