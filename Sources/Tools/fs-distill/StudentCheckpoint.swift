import Foundation
import NN
import Store
import ToolSupport
import Train

/// Student checkpoints in the store: one `checkpoint` artifact "RUN@STEP" per save with tensors
/// `model.*`, `ema.*`, `opt.m.*`, `opt.v.*` (student), `disc.*`, `disc_opt.m.*`, `disc_opt.v.*`
/// (discriminator, only with --adversarial), lineage [teacher, bank], and a student `CheckpointManifest`
/// as metadata (the teacher's network and data, the DistillConfig, the K+1 grid, recommended_cfg 1, teacher
/// and bank with their hashes). A LoRA student (train_config "lora": r, lora_alpha, target_modules) stores its
/// adapters alone as model.*/ema.*/opt.*; its base is the teacher (teacher_hash), never copied. (No thread count:
/// the result does not depend on it.)
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
        let manifest = CheckpointManifest.student(
            config, model: teacher.config, data: teacher.dataset, step: s.step, optimizerStep: s.optimizer.step,
            discOptimizerStep: s.discOptimizer.step,
            lineage: .init(teacher: teacherRef, teacherHash: teacher.contentHash, bank: bank?.ref, bankHash: bank?.record.hash),
            producer: .init(tool: "fs-distill"))
        let parents = [teacher.artifact?.id, bank?.record.id].compactMap { $0 }
        try store.putArtifact(kind: ArtifactKind.checkpoint, name: "\(run)@\(s.step)", run: run, step: s.step,
                              stateDict: all, metadata: manifest.json.serialized, config: config.json, parents: parents)
    }

    /// Reads a checkpoint written by `save`.
    static func load(_ store: ArtifactStore, _ a: ArtifactRecord) throws
        -> (config: DistillConfig, state: DistillState, recorded: Recorded) {
        let bad = { (why: String) in ToolError.badInput("checkpoint \(a.name) in \(store.path) \(why)") }
        guard let meta = try? OrderedJSON.parse(a.metadata) else { throw bad("has unreadable metadata") }
        let m: CheckpointManifest
        do { m = try CheckpointManifest(reading: meta) } catch { throw bad("has unusable metadata: \(error)") }
        guard m.kind == .student, let tc = meta["train_config"], let step = m.step, let adamStep = m.optimizerStep,
              let teacherRef = m.lineage.teacher, let teacherHash = m.lineage.teacherHash else {
            throw bad("is not a fs-distill checkpoint (no kind \"student\"/train_config/step/teacher)")
        }
        let config: DistillConfig
        do { config = try DistillConfig.fromJSON(tc.serialized) } catch { throw bad("has an invalid train_config: \(error)") }
        let discStep = m.discOptimizerStep ?? 0
        let opt = AdamW(weightDecay: config.weightDecay, step: adamStep,
                        m: try store.loadStateDict(a, prefix: "opt.m."), v: try store.loadStateDict(a, prefix: "opt.v."))
        let discOpt = AdamW(beta1: config.discBeta1, beta2: config.discBeta2, step: discStep,
                            m: try store.loadStateDict(a, prefix: "disc_opt.m."), v: try store.loadStateDict(a, prefix: "disc_opt.v."))
        let state = DistillState(step: step, student: try store.loadStateDict(a, prefix: "model."),
                                 ema: try store.loadStateDict(a, prefix: "ema."), optimizer: opt,
                                 disc: try store.loadStateDict(a, prefix: "disc."), discOptimizer: discOpt)
        if config.adversarial && state.disc.isEmpty { throw bad("has --adversarial but no disc.* tensors") }
        let recorded = Recorded(teacherRef: teacherRef, teacherHash: teacherHash, bankRef: m.lineage.bank, bankHash: m.lineage.bankHash)
        return (config, state, recorded)
    }
}
