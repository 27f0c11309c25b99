import Datasets
import Foundation
import NN
import TensorCore

/// Metadata that does not describe a model checkpoint; the message names the key and what is wrong.
public struct ManifestError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension CheckpointManifest {
    /// Reads checkpoint metadata of any version: the manifest's JSON, metadata written before it (version 0:
    /// no `format_version`, `config` a bare UNet config, a student's grid under `segments` as a list or a
    /// count beside `sigmas`), and imported safetensors metadata whose values are JSON text in strings.
    /// Only `config` is required; `kind` defaults to teacher. `train_config` that no longer decodes (a run of
    /// an older version) is left out: sampling does not need it, and resuming refuses the checkpoint.
    public init(reading meta: OrderedJSON) throws {
        func value(_ key: String) -> OrderedJSON? {
            guard let v = meta[key], v != .null else { return nil }
            if let s = v.stringValue, let j = try? OrderedJSON.parse(s) { return j }   // string-valued metadata
            return v
        }
        func text(_ j: OrderedJSON) -> String { j.stringValue ?? j.serialized }
        guard let configJSON = value("config") else {
            throw ManifestError("metadata has no model 'config' (not a model checkpoint?)")
        }
        let model: ModelConfig
        do { model = try ModelConfig.fromJSON(text(configJSON)) } catch {
            throw ManifestError("invalid model config \(text(configJSON)): \(error)")
        }
        do { try model.validate() } catch {
            throw ManifestError("unusable model config \(text(configJSON)): \(ModelConfig.reason(error))")
        }
        var kind = Kind.teacher
        if let k = meta["kind"]?.stringValue {
            guard let mk = Kind(rawValue: k) else { throw ManifestError("metadata 'kind' '\(k)' is not teacher or student") }
            kind = mk
        }
        var data: DatasetRecord?
        if let d = value("data") ?? value("train_config")?["data"], d != .null {
            do { data = try JSONDecoder().decode(DatasetRecord.self, from: Data(text(d).utf8)) } catch {
                throw ManifestError("metadata 'data' is not a dataset record: \(d.serialized)")
            }
        }
        func number(_ key: String) throws -> Float? {
            guard let v = value(key) else { return nil }
            guard let d = v.doubleValue, d.isFinite else { throw ManifestError("metadata '\(key)' is not a number: \(v.serialized)") }
            return Float(d)
        }
        let shift = try number("shift")
        if let shift, shift <= 0 { throw ManifestError("metadata 'shift' must be positive, got \(shift)") }
        var schedule: ScheduleKind?
        if let s = meta["schedule"], s != .null {
            guard let name = s.stringValue, let k = ScheduleKind(rawValue: name) else {
                throw ManifestError("metadata 'schedule' \(s.serialized) is not one of \(ScheduleKind.allCases.map(\.rawValue))")
            }
            schedule = k
        }
        let (segments, sigmas) = try Self.grid(segments: value("segments"), sigmas: value("sigmas"), shift: shift ?? 3)
        var trainConfig: TrainConfig?
        if let tc = value("train_config") {
            let s = text(tc)
            switch kind {
            case .teacher: trainConfig = (try? TeacherTrainingConfig.fromJSON(s)).map(TrainConfig.teacher)
            case .student: trainConfig = (try? JSONDecoder().decode(DistillConfig.self, from: Data(s.utf8))).map(TrainConfig.distill)
            }
        }
        func int(_ key: String) -> Int? { value(key)?.intValue }
        func string(_ key: String) -> String? { meta[key]?.stringValue }
        var precision: ComputePrecision?
        if let p = meta["precision"], p != .null {
            guard let name = p.stringValue, let v = ComputePrecision(rawValue: name) else {
                throw ManifestError("metadata 'precision' \(p.serialized) is not one of fp32, bf16")
            }
            precision = v
        }
        var producer: Producer?
        if let p = value("producer") { producer = try? JSONDecoder().decode(Producer.self, from: Data(p.serialized.utf8)) }
        self.init(kind: kind, step: int("step"), model: model, data: data, trainConfig: trainConfig, schedule: schedule,
                  shift: shift, segments: segments, sigmas: sigmas, method: string("method"),
                  recommendedCFG: try number("recommended_cfg"), optimizerStep: int("adam_step"),
                  discOptimizerStep: int("disc_adam_step"), precision: precision,
                  lineage: Lineage(teacher: string("teacher"), teacherHash: string("teacher_hash"), bank: string("bank"),
                                   bankHash: string("bank_hash")),
                  producer: producer)
        version = int("format_version") ?? 0
    }

    /// A student's grid from `segments` (a step count, or the sigma list of version 0) and `sigmas`.
    static func grid(segments seg: OrderedJSON?, sigmas raw: OrderedJSON?, shift: Float) throws -> (Int?, [Float]?) {
        func list(_ key: String, _ list: [OrderedJSON], _ raw: OrderedJSON) throws -> [Float] {
            let values = list.compactMap { $0.doubleValue.map(Float.init) }
            guard values.count == list.count, values.count >= 2 else {
                throw ManifestError("metadata '\(key)' must be a list of sigmas\(key == "segments" ? " or a step count" : ""), got \(raw.serialized)")
            }
            do { _ = try SigmaSchedule(explicit: values, shift: shift) } catch let e as ScheduleError {
                throw ManifestError("metadata '\(key)': \(e.description)")
            }
            return values.last == 0 ? values : values + [0]
        }
        var sigmas: [Float]?, count: Int?
        if let seg {
            if let l = seg.arrayValue {
                sigmas = try list("segments", l, seg)
                count = sigmas!.count - 1
            } else if let n = seg.intValue, n >= 1 {
                count = n
            } else {
                throw ManifestError("metadata 'segments' must be a list of sigmas or a step count, got \(seg.serialized)")
            }
        }
        if sigmas == nil, let raw {
            guard let l = raw.arrayValue else { throw ManifestError("metadata 'sigmas' must be a list of sigmas, got \(raw.serialized)") }
            let values = try list("sigmas", l, raw)
            if let n = count, n != values.count - 1 {
                throw ManifestError("metadata 'segments' says \(n) steps but 'sigmas' holds \(values.count - 1) \(raw.serialized)")
            }
            sigmas = values
            count = values.count - 1
        }
        return (count, sigmas)
    }
}
