import Foundation
import Testing
import Datasets
import NN
import TensorCore
@testable import Train

/// The typed checkpoint manifest: what fs-train and fs-distill write reads back equal, metadata written
/// before it (version 0, string-valued as in the shipped models' `__metadata__`) still reads, and bank
/// configs of either form give the same grid.
@Suite struct CheckpointManifestTests {
    static let producer = CheckpointManifest.Producer(tool: "fs-train", version: "abc", command: ["fs-train", "--steps", "3"])

    @Test func teacherManifestRoundTrips() throws {
        var config = TeacherTrainingConfig.preset("dit-tiny", seed: 4)!
        config.data = DatasetRecord(spec: "mnist", split: .train, sha256: "ab", setSHA256: nil,
                                    geometry: ImageGeometry(channels: 1, height: 28, width: 28), count: 10, classes: 10)
        let m = CheckpointManifest.teacher(config, step: 7, optimizerStep: 7, guidance: 1.5, producer: Self.producer)
        let text = m.json.serialized
        let back = try CheckpointManifest(reading: try OrderedJSON.parse(text))
        #expect(back == m)
        #expect(back.version == CheckpointManifest.formatVersion)
        guard case .teacher(let c)? = back.trainConfig else { Issue.record("no teacher config"); return }
        #expect(c == config)
        // PyTorch users read `config` as the constructor arguments.
        let parsed = try OrderedJSON.parse(text)
        #expect(parsed["config"]?["model"]?.stringValue == "dit" && parsed["config"]?["hidden_size"]?.intValue == 32)
        #expect(parsed["producer"]?["command"]?.arrayValue?.count == 3)
    }

    /// The precision a run trained with (issue 23) is written, read back, and a value that is not one is refused.
    @Test func precisionRoundTrips() throws {
        let config = TeacherTrainingConfig.preset("tiny", seed: 4)!
        let m = CheckpointManifest.teacher(config, step: 2, optimizerStep: 2, guidance: nil, precision: .bf16, producer: Self.producer)
        let parsed = try OrderedJSON.parse(m.json.serialized)
        #expect(parsed["precision"]?.stringValue == "bf16")
        #expect(try CheckpointManifest(reading: parsed).precision == .bf16)
        #expect(CheckpointManifest.teacher(config, step: 2, optimizerStep: 2, guidance: nil, producer: Self.producer).precision == .fp32)
        var bad = parsed.objectValue!
        bad = bad.map { $0.0 == "precision" ? ($0.0, OrderedJSON.string("fp8")) : $0 }
        #expect(throws: ManifestError.self) { try CheckpointManifest(reading: .object(bad)) }
    }

    @Test func studentManifestRoundTrips() throws {
        let c = DistillConfig.preset("tiny", method: .flowsteer, seed: 1)!
        let m = CheckpointManifest.student(c, model: .unet(UNetConfig(channels: [8, 16], embedDim: 32)), data: nil, step: 3,
                                           optimizerStep: 3, discOptimizerStep: 0,
                                           lineage: .init(teacher: "t", teacherHash: "h", bank: "b", bankHash: "bh"),
                                           producer: Self.producer)
        let back = try CheckpointManifest(reading: try OrderedJSON.parse(m.json.serialized))
        #expect(back == m && back.segments == c.segments && back.sigmas?.last == 0 && back.recommendedCFG == 1)
    }

    /// The shipped student's `__metadata__` (every value a string), version 0.
    @Test func versionZeroStringMetadataReads() throws {
        let meta: OrderedJSON = .object([
            ("format", .string("pt")),
            ("config", .string(#"{"channels":[16,32,32],"embed_dim":128,"groups":8,"in_channels":1,"num_classes":10,"time_features":64}"#)),
            ("recommended_cfg", .string("1")), ("shift", .string("2.0")), ("schedule", .string("fixed")), ("step", .string("2000")),
            ("kind", .string("student")), ("segments", .string("4")), ("sigmas", .string("[1.0, 0.85714287, 0.6666667, 0.4, 0.0]")),
            ("method", .string("flowsteer")),
        ])
        let m = try CheckpointManifest(reading: meta)
        #expect(m.version == 0 && m.kind == .student && m.step == 2000 && m.shift == 2 && m.segments == 4)
        #expect(m.sigmas == [1.0, 0.85714287, 0.6666667, 0.4, 0.0] && m.method == "flowsteer")
        guard case .unet(let u) = m.model else { Issue.record("not a UNet"); return }
        #expect(u.channels == [16, 32, 32])
        // A version-0 student grid given as the `segments` list.
        let old = try CheckpointManifest(reading: .object([("config", meta["config"]!), ("segments", .array([.number("1"), .number("0.5")]))]))
        #expect(old.sigmas == [1, 0.5, 0] && old.segments == 2)
        #expect(throws: ManifestError.self) { try CheckpointManifest(reading: .object([("kind", .string("teacher"))])) }
        #expect(throws: ManifestError.self) {
            try CheckpointManifest(reading: .object([("config", meta["config"]!), ("segments", .number("4")), ("sigmas", .array([.number("1"), .number("0")]))]))
        }
    }

    @Test func bankManifestReadsBothForms() throws {
        let new = BankManifest(teacher: "t", teacherHash: "h", teacherConfig: .dit(DiTConfig()), schedule: .fixed, shift: 3, segments: 2,
                               substeps: 4, teacherSteps: 8, boundarySigmas: [1, 0.75, 0], cfgRange: (1, 2), stateShape: [1, 28, 28],
                               seeds: "0-9", count: 10, shards: 1, data: nil, notes: ["solver": "euler"])
        let back = try BankManifest(reading: try OrderedJSON.parse(new.json))
        #expect(back.json == new.json && back.teacherConfig == .dit(DiTConfig()) && back.version == 1)
        // A bank config of an older version: the grid under `segments`, w_lo/w_hi, a teacher config string, no shape.
        let old = try BankManifest(reading: try OrderedJSON.parse(
            #"{"segments":[1,0.75],"w_lo":1.5,"w_hi":2,"teacher_config":"{\"channels\":[8,16]}","schedule":"fixed"}"#))
        #expect(old.version == 0 && old.segments == 2 && old.boundarySigmas == [1, 0.75, 0] && old.stateShape == [1, 28, 28])
        #expect(old.cfgRange! == (1.5, 2))
        guard case .unet? = old.teacherConfig else { Issue.record("old teacher config not a UNet"); return }
        #expect(throws: ManifestError.self) { try BankManifest(reading: try OrderedJSON.parse(#"{"schedule":"cosine"}"#)) }
    }

    /// The recorded command drops what cannot change the bits (kill + resume, --threads, the store path).
    @Test func producerCommandIsReproducible() {
        let a = CheckpointManifest.Producer.reproducible(["/x/bin/fs-train", "--store", "s.db", "--run", "t", "--threads=2", "--steps", "6", "--quiet"])
        let b = CheckpointManifest.Producer.reproducible(["fs-train", "--run", "t", "--steps", "6", "--resume", "--threads", "1", "--store=o.db"])
        #expect(a == ["fs-train", "--run", "t", "--steps", "6"] && a == b)
    }
}
