import Datasets
import Foundation
import NN

/// A trajectory bank's config (the artifact's `config` column): everything that determines its rows and
/// nothing that differs between shards or runs, so the shard banks of one job array have equal configs and
/// merge into one bank (hence no command line in `producer`).
///
/// fs-rollout writes it (sorted keys); fs-distill reads it with `init(reading:)`, which also accepts banks
/// made before it (version 0): a grid under `boundary_sigmas`, `segments` (a count or the sigma list) or
/// `sigmas`; the guidance range as `cfg_range`/`guidance_range` or `w_lo`/`w_hi`-style pairs; a bank
/// without `state_shape` predates other datasets and reads as `ImageGeometry`'s legacy default.
public struct BankManifest: Equatable, Sendable {
    public static let formatVersion = 1

    public var version: Int
    public var teacher: String?
    public var teacherHash: String?
    public var teacherConfig: ModelConfig?
    public var schedule: ScheduleKind?
    public var shift: Float?
    /// K: segments per trajectory (rows hold K+1 states).
    public var segments: Int?
    public var substeps: Int?
    public var teacherSteps: Int?
    /// The K+1 boundary sigmas, ending in 0.
    public var boundarySigmas: [Float]?
    public var cfgRange: (lo: Float, hi: Float)?
    public var stateShape: [Int]
    public var seeds: String?
    public var count: Int?
    public var shards: Int?
    public var data: DatasetRecord?
    /// Descriptions of how rows are drawn (fs-rollout's, for people reading the bank).
    public var notes: [String: String]

    public static func == (a: BankManifest, b: BankManifest) -> Bool { a.json == b.json }

    public init(teacher: String?, teacherHash: String?, teacherConfig: ModelConfig?, schedule: ScheduleKind?, shift: Float?,
                segments: Int?, substeps: Int?, teacherSteps: Int?, boundarySigmas: [Float]?, cfgRange: (lo: Float, hi: Float)?,
                stateShape: [Int], seeds: String?, count: Int?, shards: Int?, data: DatasetRecord?, notes: [String: String] = [:]) {
        version = Self.formatVersion
        (self.teacher, self.teacherHash, self.teacherConfig, self.schedule, self.shift) = (teacher, teacherHash, teacherConfig, schedule, shift)
        (self.segments, self.substeps, self.teacherSteps, self.boundarySigmas) = (segments, substeps, teacherSteps, boundarySigmas)
        (self.cfgRange, self.stateShape, self.seeds, self.count, self.shards) = (cfgRange, stateShape, seeds, count, shards)
        (self.data, self.notes) = (data, notes)
    }

    /// The config JSON, keys sorted (fs-rollout's keys; `teacher_config` an object now, a string before).
    public var json: String {
        func number(_ x: Float) -> OrderedJSON { .number(x.description) }
        var m: [(String, OrderedJSON)] = [("format_version", OrderedJSON(version)), ("tool", .string("fs-rollout")),
                                          ("state_shape", .array(stateShape.map { OrderedJSON($0) }))]
        if let teacher { m.append(("teacher", .string(teacher))) }
        if let teacherHash { m.append(("teacher_hash", .string(teacherHash))) }
        if let teacherConfig { m.append(("teacher_config", try! OrderedJSON.parse(teacherConfig.json))) }
        if let schedule { m.append(("schedule", .string(schedule.rawValue))) }
        if let shift { m.append(("shift", number(shift))) }
        if let segments { m.append(("segments", OrderedJSON(segments))) }
        if let substeps { m.append(("substeps", OrderedJSON(substeps))) }
        if let teacherSteps { m.append(("teacher_steps", OrderedJSON(teacherSteps))) }
        if let boundarySigmas { m.append(("boundary_sigmas", .array(boundarySigmas.map(number)))) }
        if let cfgRange { m.append(("cfg_range", .array([number(cfgRange.lo), number(cfgRange.hi)]))) }
        if let seeds { m.append(("seeds", .string(seeds))) }
        if let count { m.append(("count", OrderedJSON(count))) }
        if let shards { m.append(("shards", OrderedJSON(shards))) }
        if let data { m.append(("data", try! OrderedJSON.parse(data.json))) }
        for (k, v) in notes { m.append((k, .string(v))) }
        return OrderedJSON.object(m.sorted { $0.0 < $1.0 }).serialized
    }

    /// Reads a bank config of any version (see the type's comment); throws `ManifestError` naming the key.
    public init(reading c: OrderedJSON) throws {
        func number(_ keys: String...) -> Float? {
            for key in keys { if let v = c[key]?.doubleValue ?? c[key]?.stringValue.flatMap(Double.init) { return Float(v) } }
            return nil
        }
        let shape = c["state_shape"]?.arrayValue?.compactMap(\.intValue) ?? ImageGeometry.mnist.sampleShape
        var sigmas: [Float]?
        if let list = c["boundary_sigmas"]?.arrayValue ?? c["segments"]?.arrayValue ?? c["sigmas"]?.arrayValue {
            let values = list.compactMap { $0.doubleValue.map(Float.init) }
            if values.count == list.count { sigmas = values.last == 0 ? values : values + [0] }
        }
        var schedule: ScheduleKind?
        if let s = c["schedule"]?.stringValue {
            guard let kind = ScheduleKind(rawValue: s) else { throw ManifestError("unknown schedule '\(s)'") }
            schedule = kind
        }
        var range: (Float, Float)?
        if let r = c["cfg_range"]?.arrayValue ?? c["guidance_range"]?.arrayValue, r.count == 2,
           let lo = r[0].doubleValue, let hi = r[1].doubleValue {
            range = (Float(lo), Float(hi))
        } else if let lo = number("w_lo", "guidance_lo", "cfg_lo"), let hi = number("w_hi", "guidance_hi", "cfg_hi") {
            range = (lo, hi)
        }
        var teacherConfig: ModelConfig?
        if let t = c["teacher_config"], t != .null { teacherConfig = try? ModelConfig.fromJSON(t.stringValue ?? t.serialized) }
        var data: DatasetRecord?
        if let d = c["data"], d != .null { data = try? JSONDecoder().decode(DatasetRecord.self, from: Data(d.serialized.utf8)) }
        self.init(teacher: c["teacher"]?.stringValue, teacherHash: c["teacher_hash"]?.stringValue, teacherConfig: teacherConfig,
                  schedule: schedule, shift: number("shift"), segments: c["segments"]?.intValue ?? sigmas.map { $0.count - 1 },
                  substeps: number("substeps", "sub_steps").map { Int($0) }, teacherSteps: c["teacher_steps"]?.intValue,
                  boundarySigmas: sigmas, cfgRange: range, stateShape: shape, seeds: c["seeds"]?.stringValue,
                  count: c["count"]?.intValue, shards: c["shards"]?.intValue, data: data)
        version = c["format_version"]?.intValue ?? 0
        for (k, v) in c.objectValue ?? [] where !Self.keys.contains(k) { if let s = v.stringValue { notes[k] = s } }
    }

    /// The keys with a field of their own (the other string values are notes).
    static let keys: Set<String> = ["format_version", "tool", "state_shape", "teacher", "teacher_hash", "teacher_config",
                                    "schedule", "seeds", "data"]
}
