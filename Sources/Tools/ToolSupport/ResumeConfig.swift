import NN

/// `--resume` with hyperparameters that differ from the run's recorded ones: refused (exit 2) with
/// every difference named, unless `--override-config` is given, in which case the changes are applied
/// and recorded in the run. Without this, `--resume --lr X` silently trained on with the old rate.
///
/// Works on the configs' JSON: `wanted` is the recorded config with the command line's explicitly given
/// options applied; every top-level key whose value differs is a change.
public enum ResumeConfig {
    public struct Change: Equatable, Sendable, CustomStringConvertible {
        public let key: String
        public let flag: String
        public let recorded: String
        public let given: String
        public var description: String { "\(flag) \(given) (recorded: \(recorded))" }
    }

    /// The differing keys of two config objects, skipping `ignoring` (e.g. `steps`, which resume may
    /// extend); `flags` maps a key to the option that sets it (default: the key itself).
    public static func changes(recorded: String, wanted: String, flags: [String: String] = [:],
                               ignoring: Set<String> = []) throws -> [Change] {
        let r = try OrderedJSON.parse(recorded), w = try OrderedJSON.parse(wanted)
        return (w.objectValue ?? []).compactMap { key, value in
            guard !ignoring.contains(key) else { return nil }
            let old = r[key] ?? .null
            guard old.serialized != value.serialized else { return nil }
            return Change(key: key, flag: flags[key] ?? key, recorded: old.serialized, given: value.serialized)
        }
    }

    /// Refuses the changes unless `override`; keys in `fixed` (e.g. the UNet's shape, which the stored
    /// weights fix) are refused even then. Returns the changes to apply and record.
    public static func enforce(_ changes: [Change], run: String, override: Bool, fixed: Set<String> = []) throws -> [Change] {
        guard !changes.isEmpty else { return [] }
        let list = changes.map(\.description).joined(separator: "; ")
        if let f = changes.first(where: { fixed.contains($0.key) }) {
            throw ToolError.usage("--resume of run '\(run)': \(f) cannot change within a run (its checkpoints are "
                                  + "made for it); start a new --run instead. All differences: \(list)")
        }
        guard override else {
            throw ToolError.usage("--resume of run '\(run)' with settings that differ from the recorded ones: \(list). "
                                  + "Drop them to continue as recorded, or add --override-config to apply and record the change")
        }
        return changes
    }

    /// The run's config text with the applied changes appended under `resume_overrides` (one entry per
    /// resume that overrode something, with the step it took effect at).
    public static func recording(_ config: String, step: Int, changes: [Change], previous: String?) throws -> String {
        guard var object = try OrderedJSON.parse(config).objectValue else { return config }
        var history = (previous.flatMap { try? OrderedJSON.parse($0) }?["resume_overrides"]?.arrayValue) ?? []
        if !changes.isEmpty {
            history.append(.object([("step", OrderedJSON(step)),
                                    ("changes", .array(changes.map { c in
                                        .object([("key", .string(c.key)), ("from", try! OrderedJSON.parse(c.recorded)),
                                                 ("to", try! OrderedJSON.parse(c.given))])
                                    }))]))
        }
        if !history.isEmpty { object.append(("resume_overrides", .array(history))) }
        return OrderedJSON.object(object).serialized
    }
}
