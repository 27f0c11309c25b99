import Foundation
import NN
import Store
import ToolSupport
import Train

/// Student checkpoints in the store: one `checkpoint` artifact "RUN@STEP" per save with tensors
/// `model.*`, `ema.*`, `opt.m.*`, `opt.v.*` (student), `disc.*`, `disc_opt.m.*`, `disc_opt.v.*`
/// (discriminator, only with --adversarial), lineage [teacher, bank], and metadata
/// {"kind": "student", "step", "config": <UNet config>, "train_config": <DistillConfig>, "adam_step",
///  "disc_adam_step", "schedule", "shift", "segments" (K), "sigmas" (the K+1 grid), "recommended_cfg": 1, "method", the toggles,
///  "teacher", "teacher_hash", "bank", "bank_hash", "data" (the teacher's dataset)}. (No thread count: the result does not depend on it.)
struct StudentCheckpoint {
    let store: ArtifactStore
    let run: String
    let config: DistillConfig
    let teacher: LoadedModel
    let teacherRef: String
    let bank: BankInput?

    /// What a checkpoint recorded about its inputs (to reload them on --resume).
    struct Recorded {
        var teacherRef: String
        var teacherHash: String
        var bankRef: String?
        var bankHash: String?
    }

    func save(_ s: DistillState) throws {
        var all = s.student.prefixed("model.")
        all.merge(s.ema.prefixed("ema."))
        all.merge(s.optimizer.m.prefixed("opt.m."))
        all.merge(s.optimizer.v.prefixed("opt.v."))
        if !s.disc.isEmpty {
            all.merge(s.disc.prefixed("disc."))
            all.merge(s.discOptimizer.m.prefixed("disc_opt.m."))
            all.merge(s.discOptimizer.v.prefixed("disc_opt.v."))
        }
        func number(_ x: Float) -> OrderedJSON { OrderedJSON(Double(x.description) ?? Double(x)) }
        var meta: [(String, OrderedJSON)] = [
            ("kind", .string("student")), ("step", OrderedJSON(s.step)),
            ("config", try OrderedJSON.parse(teacher.config.json)), ("train_config", try OrderedJSON.parse(config.json)),
            ("adam_step", OrderedJSON(s.optimizer.step)), ("disc_adam_step", OrderedJSON(s.discOptimizer.step)),
            ("schedule", .string(config.schedule.rawValue)), ("shift", number(config.shift)),
            ("segments", OrderedJSON(config.segments)),
            // The student's own grid travels with it (fs-store export copies it into __metadata__).
            ("sigmas", .array(SigmaSchedule.make(config.schedule, steps: config.segments, shift: config.shift).sigmas.map(number))),
            ("recommended_cfg", OrderedJSON(1)),
            ("method", .string(config.method.rawValue)), ("ota", .bool(config.ota)), ("online", .bool(config.online)),
            ("adversarial", .bool(config.adversarial)), ("teacher", .string(teacherRef)),
            ("teacher_hash", .string(teacher.contentHash)),
        ]
        if config.adversarial {
            meta += [("adv_fake", .string(config.advFake.rawValue)), ("lambda_adv", number(config.lambdaAdv)),
                     ("lambda_fm", number(config.lambdaFM)), ("adv_warmup", OrderedJSON(config.advWarmup))]
        }
        if let bank { meta += [("bank", .string(bank.ref)), ("bank_hash", .string(bank.record.hash))] }
        // The teacher's data: the student samples in its geometry and is evaluated against it.
        if let data = teacher.dataset { meta.append(("data", try OrderedJSON.parse(data.json))) }
        let parents = [teacher.artifact?.id, bank?.record.id].compactMap { $0 }
        try store.putArtifact(kind: ArtifactKind.checkpoint, name: "\(run)@\(s.step)", run: run, step: s.step,
                              stateDict: all, metadata: OrderedJSON.object(meta).serialized, config: config.json, parents: parents)
    }

    /// Reads a checkpoint written by `save`.
    static func load(_ store: ArtifactStore, _ a: ArtifactRecord) throws
        -> (config: DistillConfig, state: DistillState, recorded: Recorded) {
        let bad = { (why: String) in ToolError.badInput("checkpoint \(a.name) in \(store.path) \(why)") }
        guard let meta = try? OrderedJSON.parse(a.metadata) else { throw bad("has unreadable metadata") }
        guard meta["kind"]?.stringValue == "student", let tc = meta["train_config"],
              let step = meta["step"]?.intValue, let adamStep = meta["adam_step"]?.intValue,
              let teacherRef = meta["teacher"]?.stringValue, let teacherHash = meta["teacher_hash"]?.stringValue else {
            throw bad("is not a fs-distill checkpoint (no kind \"student\"/train_config/step/teacher)")
        }
        let config: DistillConfig
        do { config = try DistillConfig.fromJSON(tc.serialized) } catch { throw bad("has an invalid train_config: \(error)") }
        let discStep = meta["disc_adam_step"]?.intValue ?? 0
        let opt = AdamW(weightDecay: config.weightDecay, step: adamStep,
                        m: try store.loadStateDict(a, prefix: "opt.m."), v: try store.loadStateDict(a, prefix: "opt.v."))
        let discOpt = AdamW(beta1: config.discBeta1, beta2: config.discBeta2, step: discStep,
                            m: try store.loadStateDict(a, prefix: "disc_opt.m."), v: try store.loadStateDict(a, prefix: "disc_opt.v."))
        let state = DistillState(step: step, student: try store.loadStateDict(a, prefix: "model."),
                                 ema: try store.loadStateDict(a, prefix: "ema."), optimizer: opt,
                                 disc: try store.loadStateDict(a, prefix: "disc."), discOptimizer: discOpt)
        if config.adversarial && state.disc.isEmpty { throw bad("has --adversarial but no disc.* tensors") }
        let recorded = Recorded(teacherRef: teacherRef, teacherHash: teacherHash, bankRef: meta["bank"]?.stringValue,
                                bankHash: meta["bank_hash"]?.stringValue)
        return (config, state, recorded)
    }
}
