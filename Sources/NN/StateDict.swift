import TensorCore

/// Named tensors in a fixed order: model weights, EMA weights, optimizer moments.
/// Keys follow PyTorch's `state_dict()` (`down.1.block.conv1.weight`), so files move between
/// this project and PyTorch by name.
public struct StateDict: Sendable, Equatable {
    public private(set) var keys: [String] = []
    private var storage: [String: Tensor] = [:]

    public init() {}

    public init(_ pairs: [(String, Tensor)]) {
        for (k, v) in pairs { self[k] = v }
    }

    public subscript(key: String) -> Tensor? {
        get { storage[key] }
        set {
            if let v = newValue {
                if storage.updateValue(v, forKey: key) == nil { keys.append(key) }
            } else if storage.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    /// The tensor under `key`; a missing key is a programmer error here (use `validate` for files).
    public func tensor(_ key: String) -> Tensor {
        guard let t = storage[key] else { preconditionFailure("StateDict: no tensor named '\(key)'") }
        return t
    }

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }
    public var items: [(String, Tensor)] { keys.map { ($0, storage[$0]!) } }
    public var parameterCount: Int { storage.values.reduce(0) { $0 + $1.count } }

    /// Applies `transform` to every tensor, keeping keys and order.
    public func mapTensors(_ transform: (String, Tensor) throws -> Tensor) rethrows -> StateDict {
        var out = StateDict()
        for k in keys { out[k] = try transform(k, storage[k]!) }
        return out
    }

    /// Keys with a prefix removed (for example "ema." or "opt.m."), keeping only those that have it.
    public func stripping(prefix: String) -> StateDict {
        var out = StateDict()
        for k in keys where k.hasPrefix(prefix) { out[String(k.dropFirst(prefix.count))] = storage[k]! }
        return out
    }

    /// Keys with a prefix added.
    public func prefixed(_ prefix: String) -> StateDict {
        var out = StateDict()
        for k in keys { out[prefix + k] = storage[k]! }
        return out
    }

    /// Merges `other` in (its keys win).
    public mutating func merge(_ other: StateDict) {
        for (k, v) in other.items { self[k] = v }
    }
}

/// Everything wrong with a state dict against an expected list of keys and shapes, collected
/// before failing (as PyTorch's `load_state_dict` reports missing and unexpected keys together).
public struct StateDictMismatch: Error, CustomStringConvertible {
    public var missing: [String] = []
    public var unexpected: [String] = []
    public var wrongShape: [(key: String, expected: [Int], found: [Int])] = []

    public var isEmpty: Bool { missing.isEmpty && unexpected.isEmpty && wrongShape.isEmpty }

    public var description: String {
        var parts: [String] = []
        if !missing.isEmpty { parts.append("missing keys: \(missing.joined(separator: ", "))") }
        if !unexpected.isEmpty { parts.append("unexpected keys: \(unexpected.joined(separator: ", "))") }
        for w in wrongShape { parts.append("shape mismatch for \(w.key): expected \(w.expected), found \(w.found)") }
        return "state dict does not match the model: " + parts.joined(separator: "; ")
    }

    /// `description` cut to the first `limit` items of each kind with counts, for one-line tool errors
    /// (a wrong-width checkpoint mismatches every tensor: thousands of characters otherwise).
    public func summary(limit: Int = 3) -> String {
        func some(_ items: [String], _ what: String) -> String? {
            guard !items.isEmpty else { return nil }
            let more = items.count > limit ? ", ... (\(items.count) in all)" : ""
            return "\(what): " + items.prefix(limit).joined(separator: ", ") + more
        }
        let parts = [some(missing, "missing keys"), some(unexpected, "unexpected keys"),
                     some(wrongShape.map { "\($0.key) expected \($0.expected), found \($0.found)" }, "shape mismatches")]
        return "state dict does not match the model: " + parts.compactMap { $0 }.joined(separator: "; ")
    }
}

extension StateDict {
    /// Throws `StateDictMismatch` unless the keys and shapes equal `expected` exactly (order-insensitive).
    public func validate(against expected: [(key: String, shape: [Int])]) throws {
        var m = StateDictMismatch()
        let want = Dictionary(expected.map { ($0.key, $0.shape) }, uniquingKeysWith: { a, _ in a })
        for (k, s) in expected {
            guard let t = storage[k] else { m.missing.append(k); continue }
            if t.shape != s { m.wrongShape.append((k, s, t.shape)) }
        }
        for k in keys where want[k] == nil { m.unexpected.append(k) }
        if !m.isEmpty { throw m }
    }
}
