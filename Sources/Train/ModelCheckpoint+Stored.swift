import NN

extension ModelCheckpoint {
    /// The metadata object of a stored checkpoint from its artifact's `metadata` and `config` texts.
    /// Imported safetensors keep their original `__metadata__` (all strings) under
    /// `safetensors_metadata`; metadata without a model config takes the `config` column's network
    /// (`configFallback`). `what` names the artifact in the error when the metadata is not an object.
    public static func storedMetadata(_ metadataText: String, configColumn: String, what: String) throws -> OrderedJSON {
        guard let metadata = try? OrderedJSON.parse(metadataText), metadata.objectValue != nil else {
            throw CheckpointError("metadata of \(what) is not a JSON object")
        }
        var meta: [(String, OrderedJSON)]
        if metadata["source"]?.stringValue == "safetensors", let original = metadata["safetensors_metadata"]?.objectValue {
            meta = original.map { ($0.0, $0.1.stringValue.map(parseLoosely) ?? $0.1) }
        } else {
            meta = metadata.objectValue ?? []
        }
        if OrderedJSON.object(meta)["config"] == nil, let fallback = configFallback(configColumn) {
            meta.append(("config", fallback))
        }
        return .object(meta)
    }

    /// An artifact's `config` column as a model config: itself when it describes a network (`channels`,
    /// or `"model": "dit"`), or its `model` object (fs-train stores the training config there).
    static func configFallback(_ text: String) -> OrderedJSON? {
        guard let j = try? OrderedJSON.parse(text) else { return nil }
        func isNetwork(_ c: OrderedJSON) -> Bool { c["channels"] != nil || c["model"]?.stringValue != nil }
        if isNetwork(j) { return j }
        if let m = j["model"], m.objectValue != nil, isNetwork(m) { return m }
        return nil
    }
}
