import NN

/// Statistics files: safetensors with F64 tensors `mu` [D] and `sigma` [D, D] (the content of
/// pytorch-fid's `--save-stats` npz), plus `__metadata__` naming the feature network that produced
/// them, so statistics of different networks are never compared by accident.
extension GaussianStatistics {
    /// Metadata key of the feature network's checksum.
    public static let featureNetworkKey = "feature_network"
    /// Metadata key of the sample count.
    public static let countKey = "count"

    /// The statistics as a safetensors file (F64 `mu` and `sigma`); `featureNetwork` identifies the
    /// network (its checksum), `extra` adds free-form metadata.
    public func safetensorsFile(featureNetwork: String?, extra: [(key: String, value: String)] = []) -> SafetensorsFile {
        var meta: [(key: String, value: String)] = [(key: "format", value: "flowsteer-fid-stats"),
                                                     (key: Self.countKey, value: String(count))]
        if let featureNetwork { meta.append((key: Self.featureNetworkKey, value: featureNetwork)) }
        meta += extra
        return SafetensorsFile(entries: [
            SafetensorsEntry(name: "mu", dtype: .F64, shape: [dimension], bytes: littleEndianBytes(mean)),
            SafetensorsEntry(name: "sigma", dtype: .F64, shape: [dimension, dimension], bytes: littleEndianBytes(covariance)),
        ], metadata: meta)
    }

    /// Writes a statistics file atomically.
    public func write(to path: String, featureNetwork: String?, extra: [(key: String, value: String)] = []) throws {
        try Safetensors.write(safetensorsFile(featureNetwork: featureNetwork, extra: extra), to: path)
    }

    /// Statistics from a parsed safetensors file. When `expectedFeatureNetwork` is given, the file's
    /// `feature_network` metadata must equal it. `source` names the file in errors.
    public init(safetensors file: SafetensorsFile, source: String = "<memory>",
                expectedFeatureNetwork: String? = nil) throws {
        func fail(_ reason: String) -> EvalError { .badStatisticsFile(file: source, reason: reason) }
        guard let mu = file.entry("mu") else { throw fail("no tensor named 'mu'") }
        guard let sigma = file.entry("sigma") else { throw fail("no tensor named 'sigma'") }
        guard mu.dtype == .F64, sigma.dtype == .F64 else {
            throw fail("'mu' is \(mu.dtype.rawValue) and 'sigma' is \(sigma.dtype.rawValue), expected F64")
        }
        guard mu.shape.count == 1, sigma.shape == [mu.shape[0], mu.shape[0]] else {
            throw fail("'mu' has shape \(mu.shape) and 'sigma' \(sigma.shape), expected [D] and [D, D]")
        }
        if let want = expectedFeatureNetwork {
            let got = file.metadataValue(Self.featureNetworkKey)
            guard got == want else {
                throw fail("made with feature network \(got ?? "<unrecorded>"), expected \(want)")
            }
        }
        let count = file.metadataValue(Self.countKey).flatMap { Int($0) } ?? 0
        do {
            try self.init(mean: doubles(mu.bytes), covariance: doubles(sigma.bytes), count: count)
        } catch let e as EvalError {
            throw fail(e.description)
        }
    }

    /// Reads a statistics file (see `init(safetensors:source:expectedFeatureNetwork:)`).
    public init(path: String, expectedFeatureNetwork: String? = nil) throws {
        try self.init(safetensors: Safetensors.read(path: path), source: path,
                      expectedFeatureNetwork: expectedFeatureNetwork)
    }
}

private func littleEndianBytes(_ values: [Double]) -> [UInt8] {
    var out = [UInt8](); out.reserveCapacity(values.count * 8)
    for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { out += $0 } }
    return out
}

private func doubles(_ bytes: [UInt8]) -> [Double] {
    bytes.withUnsafeBytes { raw in
        (0..<(bytes.count / 8)).map { Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self))) }
    }
}
