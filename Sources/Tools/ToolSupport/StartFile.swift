import Foundation
import NN
import TensorCore

/// One tensor of a safetensors file whose rows start a run (`fs-sample --init-tensors` states or
/// `--init-x0` clean images), checked against the run: row i must belong to sample i.
///
/// Checks, each failing with exit code 3 and a message naming the file: the file reads and parses;
/// it has one of the accepted tensor names; the tensor is F32 of shape [N] + sampleShape with N the
/// run's sample count and finite values; when the file records seeds (`seeds` metadata in the
/// `--seeds` syntax, as `fs-sample --save-tensors` writes, or a `seeds` tensor) they are the run's;
/// when it has a `labels` tensor (I64 or I32) they are the run's labels. The file's `sigmas`
/// metadata (a JSON list) tells at which sigma its rows are (its last value); callers check that.
public struct StartFile: Sendable {
    public let path: String
    /// SHA-256 of the file's bytes (recorded in the sample set's metadata).
    public let sha256: String
    /// The tensor used (the first of the accepted names the file has).
    public let tensorName: String
    public let rows: Tensor
    /// Where the rows are: the last value of the file's `sigmas` metadata, nil when not recorded.
    public let sigma: Float?

    public static func load(_ path: String, tensorNames: [String], seeds: [UInt64], labels: [Int],
                            sampleShape: [Int]) throws -> StartFile {
        func bad(_ s: String) -> ToolError { ToolError.badInput("\(path): \(s)") }
        let bytes: Data
        do { bytes = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw bad("cannot read: \(error.localizedDescription)")
        }
        let file = try bytes.withUnsafeBytes { try Safetensors.parse($0, source: path) }
        guard let name = tensorNames.first(where: { file.entry($0) != nil }), let entry = file.entry(name) else {
            throw bad("no tensor named \(tensorNames.joined(separator: " or ")) (it has: "
                      + "\(file.entries.map(\.name).joined(separator: ", ")))")
        }
        let expected = [seeds.count] + sampleShape
        guard entry.shape == expected else {
            throw bad("tensor '\(name)' has shape \(entry.shape), this run needs \(expected) "
                      + "(one row per seed of --seeds, row i = seed i)")
        }
        let rows = try entry.tensor(file: path)
        guard rows.isFinite else { throw bad("tensor '\(name)' holds non-finite values") }

        if let fileSeeds = try recordedSeeds(file, bad: bad), fileSeeds != seeds {
            throw bad("its rows are seeds \(SeedList(fileSeeds)), but this run samples seeds \(SeedList(seeds)) "
                      + "(row i must belong to seed i of --seeds)")
        }
        if let l = file.entry("labels") {
            let fileLabels = try integers(l, bad: bad)
            if let i = (0..<labels.count).first(where: { i in i >= fileLabels.count || fileLabels[i] != labels[i] }) {
                let theirs = i < fileLabels.count ? "\(fileLabels[i])" : "none"
                throw bad("row \(i) has label \(theirs), but this run gives sample \(i) label \(labels[i]) (see --labels)")
            }
        }
        var sigma: Float?
        if let text = file.metadataValue("sigmas") {
            guard let list = try? OrderedJSON.parse(text).arrayValue, let last = list.last?.doubleValue else {
                throw bad("metadata 'sigmas' is not a JSON list of numbers: \(text)")
            }
            sigma = Float(last)
        }
        return StartFile(path: path, sha256: SHA256.hex([UInt8](bytes)), tensorName: name, rows: rows, sigma: sigma)
    }

    /// The file's seeds: its `seeds` metadata (seed-list syntax) or `seeds` tensor (U64/I64), nil if neither.
    static func recordedSeeds(_ file: SafetensorsFile, bad: (String) -> ToolError) throws -> [UInt64]? {
        if let text = file.metadataValue("seeds") {
            guard let list = try? SeedList(parsing: text) else { throw bad("metadata 'seeds' is not a seed list: \(text)") }
            return list.seeds
        }
        guard let e = file.entry("seeds") else { return nil }
        return try integers(e, bad: bad).map { UInt64(bitPattern: Int64($0)) }
    }

    /// The values of an integer tensor (I64, U64 or I32, little-endian).
    static func integers(_ e: SafetensorsEntry, bad: (String) -> ToolError) throws -> [Int] {
        let values = e.bytes.withUnsafeBytes { raw -> [Int]? in
            switch e.dtype {
            case .I64, .U64:
                return (0..<(raw.count / 8)).map { Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self))) }
            case .I32:
                return (0..<(raw.count / 4)).map { Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))) }
            default:
                return nil
            }
        }
        guard let values else {
            throw bad("tensor '\(e.name)' is \(e.dtype.rawValue), expected an integer type (I64, U64 or I32)")
        }
        return values
    }
}
