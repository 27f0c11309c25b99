import Foundation
import NN
import TensorCore
import Testing

@Suite struct SafetensorsTests {
    @Test func pytorchFixtureParsesAndReencodesBitIdentically() throws {
        let bytes = PyTorchFixture.bytes
        #expect(SHA256.hex(bytes) == PyTorchFixture.sha256)
        let f = try bytes.withUnsafeBytes { try Safetensors.parse($0, source: "fixture") }
        #expect(f.metadataValue("format") == "pt")
        #expect(f.entry("steps")?.dtype == .I64)
        #expect(f.entry("stats.mean")?.dtype == .F64)
        #expect(f.entry("down.0.conv.weight")?.shape == [4, 1, 3, 3])
        #expect(f.entry("empty")?.shape == [0, 2])
        let steps = f.entry("steps")!.bytes.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) }
        #expect(steps == [0, 1, 2, 3, 4, 5])
        // Our writer reproduces PyTorch's bytes from scratch (sorting + padding), in any input order.
        var shuffled = f
        shuffled.entries.reverse()
        #expect(try Safetensors.encode(SafetensorsFile(entries: Safetensors.pythonOrder(shuffled.entries), metadata: f.metadata)) == bytes)
    }

    @Test func stateDictRoundTrip() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let sd = StateDict([("b.weight", Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, -6])), ("a", Tensor(scalar: .pi))])
        try Safetensors.write(stateDict: sd, metadata: [("format", "pt")], to: dir.file("x.safetensors"))
        let (back, meta) = try Safetensors.readStateDict(path: dir.file("x.safetensors"))
        #expect(back["b.weight"] == sd["b.weight"] && back["a"] == sd["a"])
        #expect(meta.first?.key == "format")
        let header = readBytes(dir.file("x.safetensors")).prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        #expect(header % 8 == 0)
    }

    /// Builds a file from a header string and `data` bytes (header padded to 8 like the writer).
    func file(_ header: String, data: Int) -> [UInt8] {
        var h = Array(header.utf8)
        h += [UInt8](repeating: 32, count: (8 - h.count % 8) % 8)
        return withUnsafeBytes(of: UInt64(h.count).littleEndian) { [UInt8]($0) } + h + [UInt8](repeating: 0, count: data)
    }

    func parseError(_ bytes: [UInt8]) -> String {
        errorText { _ = try bytes.withUnsafeBytes { try Safetensors.parse($0, source: "bad.safetensors") } }
    }

    @Test func hostileInputsGiveClearErrors() {
        let ok = file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: 8)
        #expect(parseError(ok) == "")
        let cases: [([UInt8], String)] = [
            ([1, 2, 3], "truncated"),
            (Array(ok.prefix(20)), "past the end"),
            (withUnsafeBytes(of: UInt64.max.littleEndian) { [UInt8]($0) } + [0, 0], "exceeds"),
            (file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#, data: 8), "invalid JSON"),
            (file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, data: 12), "overlap"),
            (file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#, data: 16), "gap"),
            (file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: 4), "out of bounds"),
            (file(#"{"a":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}}"#, data: 8), "unknown dtype"),
            (file(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: 8), "needs 12 bytes"),
            (file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: 12), "cover 8"),
            (file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#, data: 16), "duplicate"),
            (file(#"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}"#, data: 8), "overflow"),
            (file(#"["x"]"#, data: 0), "not a JSON object"),
        ]
        for (bytes, expected) in cases {
            let e = parseError(bytes)
            #expect(e.hasPrefix("bad.safetensors: ") && e.contains(expected), "got: \(e)")
        }
    }

    @Test func missingFileNamesIt() {
        let e = errorText { _ = try Safetensors.read(path: "/nonexistent/x.safetensors") }
        #expect(e.contains("/nonexistent/x.safetensors"))
    }
}
