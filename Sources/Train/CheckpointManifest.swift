import Datasets
import Foundation
import NN
import TensorCore

/// What a model checkpoint says about itself: the one typed form of the metadata fs-train and fs-distill
/// write and LoadedModel reads (fs-store export copies its flat keys into the safetensors `__metadata__`,
/// where a PyTorch user reads `config` as a JSON string).
///
/// The JSON is one flat object, the keys checkpoints have always had plus `format_version` and `producer`:
///
///     {"format_version": 1, "kind": "teacher" | "student", "step", "config": <ModelConfig>,
///      "train_config": <TeacherTrainingConfig | DistillConfig>, "adam_step", "disc_adam_step" (students),
///      "schedule", "shift", "segments" (K), "sigmas" (the K+1 grid), "method", the distillation toggles,
///      "recommended_cfg", "precision" (fp32 | bf16: `--precision` of the run), "teacher", "teacher_hash", "bank", "bank_hash", "data": <DatasetRecord>,
///      "producer": {"tool", "version", "command"}}
///
/// Version 0 is everything written before the manifest (the shipped models): read by `init(reading:)`,
/// which also accepts the string-valued form of imported safetensors metadata.
public struct CheckpointManifest: Equatable, Sendable {
    public static let formatVersion = 1

    public enum Kind: String, Codable, Sendable { case teacher, student }

    /// The training recipe a run resumes with.
    public enum TrainConfig: Equatable, Sendable {
        case teacher(TeacherTrainingConfig)
        case distill(DistillConfig)
    }

    /// Which run and trajectory bank a student was distilled from.
    public struct Lineage: Equatable, Sendable {
        public var teacher: String?, teacherHash: String?, bank: String?, bankHash: String?
        public init(teacher: String? = nil, teacherHash: String? = nil, bank: String? = nil, bankHash: String? = nil) {
            (self.teacher, self.teacherHash, self.bank, self.bankHash) = (teacher, teacherHash, bank, bankHash)
        }
    }

    /// What wrote the checkpoint: tool, code revision ($FS_CODE_REV when the build sets it) and the command
    /// line without the options that cannot change the result (`resultNeutralOptions`), so a run resumed
    /// after a kill, at other --threads or under mpirun writes the same bits as an uninterrupted one.
    public struct Producer: Codable, Equatable, Sendable {
        public var tool: String, version: String?, command: [String]?
        public init(tool: String, version: String? = ProcessInfo.processInfo.environment["FS_CODE_REV"],
                    command: [String]? = Producer.reproducible(CommandLine.arguments)) {
            (self.tool, self.version, self.command) = (tool, version, command)
        }

        /// Options that take a value and flags that never change a checkpoint's bits.
        public static let resultNeutralOptions: Set<String> = ["--threads", "--store", "--teacher-store", "--checkpoint-every"]
        public static let resultNeutralFlags: Set<String> = ["--resume", "--quiet", "--json"]

        /// `argv` with the program's directory and the result-neutral options removed.
        public static func reproducible(_ argv: [String]) -> [String] {
            guard let first = argv.first else { return [] }
            var out = [(first as NSString).lastPathComponent], i = 1
            while i < argv.count {
                let a = argv[i], name = String(a.split(separator: "=", maxSplits: 1).first ?? "")
                if resultNeutralFlags.contains(a) || resultNeutralOptions.contains(name) && a.contains("=") {
                    i += 1
                } else if resultNeutralOptions.contains(a) {
                    i += 2
                } else {
                    out.append(a); i += 1
                }
            }
            return out
        }
    }

    /// 0 for metadata written before the manifest.
    public var version: Int
    public var kind: Kind
    public var step: Int?
    public var model: ModelConfig
    /// The images the model (or its teacher) was trained on; nil for checkpoints made before datasets were recorded.
    public var data: DatasetRecord?
    public var trainConfig: TrainConfig?
    /// The sampling grid the model was trained or distilled for (teachers: fixed, the sampler's shift).
    public var schedule: ScheduleKind?
    public var shift: Float?
    /// A student's step count and its own grid (K+1 sigmas ending in 0).
    public var segments: Int?
    public var sigmas: [Float]?
    /// The distillation method of a student.
    public var method: String?
    /// Guidance to sample with when the user gives none (students: 1).
    public var recommendedCFG: Float?
    /// AdamW step counts (resume).
    public var optimizerStep: Int?
    public var discOptimizerStep: Int?
    /// The matrix-product precision the checkpoint was trained with (`--precision`); nil before it was recorded.
    public var precision: ComputePrecision?
    public var lineage: Lineage
    public var producer: Producer?

    public init(kind: Kind, step: Int?, model: ModelConfig, data: DatasetRecord?, trainConfig: TrainConfig?,
                schedule: ScheduleKind? = nil, shift: Float? = nil, segments: Int? = nil, sigmas: [Float]? = nil,
                method: String? = nil, recommendedCFG: Float? = nil, optimizerStep: Int? = nil, discOptimizerStep: Int? = nil,
                precision: ComputePrecision? = nil, lineage: Lineage = Lineage(), producer: Producer? = nil) {
        version = Self.formatVersion
        (self.kind, self.step, self.model, self.data, self.trainConfig) = (kind, step, model, data, trainConfig)
        (self.schedule, self.shift, self.segments, self.sigmas, self.method) = (schedule, shift, segments, sigmas, method)
        (self.recommendedCFG, self.optimizerStep, self.discOptimizerStep) = (recommendedCFG, optimizerStep, discOptimizerStep)
        (self.precision, self.lineage, self.producer) = (precision, lineage, producer)
    }

    /// A teacher checkpoint of fs-train: its config, the fixed grid and the sampler's shift.
    public static func teacher(_ config: TeacherTrainingConfig, step: Int, optimizerStep: Int, guidance: Float?,
                               precision: ComputePrecision = ComputePrecision.active, producer: Producer) -> CheckpointManifest {
        CheckpointManifest(kind: .teacher, step: step, model: config.model, data: config.data, trainConfig: .teacher(config),
                           schedule: .fixed, shift: config.sigmaSampler.shift, recommendedCFG: guidance,
                           optimizerStep: optimizerStep, precision: precision, producer: producer)
    }

    /// A student checkpoint of fs-distill: the teacher's network and data, the student's own grid, guidance 1.
    public static func student(_ config: DistillConfig, model: ModelConfig, data: DatasetRecord?, step: Int, optimizerStep: Int,
                               discOptimizerStep: Int, lineage: Lineage, precision: ComputePrecision = ComputePrecision.active,
                               producer: Producer) -> CheckpointManifest {
        CheckpointManifest(kind: .student, step: step, model: model, data: data, trainConfig: .distill(config),
                           schedule: config.schedule, shift: config.shift, segments: config.segments,
                           sigmas: SigmaSchedule.make(config.schedule, steps: config.segments, shift: config.shift).sigmas,
                           method: config.method.rawValue, recommendedCFG: 1, optimizerStep: optimizerStep,
                           discOptimizerStep: discOptimizerStep, precision: precision, lineage: lineage, producer: producer)
    }

    /// The flat metadata object (key order as checkpoints have always had it; floats by their shortest text).
    public var json: OrderedJSON {
        func number(_ x: Float) -> OrderedJSON { .number(x.description) }
        func parsed(_ text: String) -> OrderedJSON { try! OrderedJSON.parse(text) }
        var m: [(String, OrderedJSON)] = [("format_version", OrderedJSON(version)), ("kind", .string(kind.rawValue))]
        if let step { m.append(("step", OrderedJSON(step))) }
        m.append(("config", parsed(model.json)))
        switch trainConfig {
        case .teacher(let c): m.append(("train_config", parsed(c.json)))
        case .distill(let c): m.append(("train_config", parsed(c.json)))
        case nil: break
        }
        if let optimizerStep { m.append(("adam_step", OrderedJSON(optimizerStep))) }
        if let discOptimizerStep { m.append(("disc_adam_step", OrderedJSON(discOptimizerStep))) }
        if let schedule { m.append(("schedule", .string(schedule.rawValue))) }
        if let shift { m.append(("shift", number(shift))) }
        if let segments { m.append(("segments", OrderedJSON(segments))) }
        if let sigmas { m.append(("sigmas", .array(sigmas.map(number)))) }
        if let recommendedCFG { m.append(("recommended_cfg", number(recommendedCFG))) }
        if let method { m.append(("method", .string(method))) }
        if let precision { m.append(("precision", .string(precision.rawValue))) }
        if case .distill(let c) = trainConfig {
            // The toggles, for readers of the metadata alone (fs-store list, export).
            m += [("ota", .bool(c.ota)), ("online", .bool(c.online)), ("adversarial", .bool(c.adversarial))]
            if c.adversarial {
                m += [("adv_fake", .string(c.advFake.rawValue)), ("lambda_adv", number(c.lambdaAdv)),
                      ("lambda_fm", number(c.lambdaFM)), ("adv_warmup", OrderedJSON(c.advWarmup))]
            }
        }
        if let t = lineage.teacher { m.append(("teacher", .string(t))) }
        if let h = lineage.teacherHash { m.append(("teacher_hash", .string(h))) }
        if let b = lineage.bank { m.append(("bank", .string(b))) }
        if let h = lineage.bankHash { m.append(("bank_hash", .string(h))) }
        if let data { m.append(("data", parsed(data.json))) }
        if let producer {
            let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
            m.append(("producer", parsed(String(decoding: try! enc.encode(producer), as: UTF8.self))))
        }
        return .object(m)
    }
}
