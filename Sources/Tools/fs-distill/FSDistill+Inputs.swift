import Datasets
import NN
import Store
import ToolSupport
import Train

extension FSDistill {
    /// The teacher, the bank and the real images a run reads.
    struct Inputs {
        let teacher: LoadedModel
        let teacherRef: String
        let bank: BankInput?
        let images: ImageDataset?
        let trajectories: TrajectorySet?
    }

    /// Resolves the teacher and bank in the store (on --resume the recorded ones unless given; their hashes
    /// must match), fills the bank's defaults into a new run's `config`, sets its LoRA, validates it,
    /// refuses batches or pools that cannot fit, and reads the bank's rows and the real images it needs.
    func loadInputs(_ store: ArtifactStore, config: inout DistillConfig, recorded: StudentCheckpoint.Recorded?) throws -> Inputs {
        guard let teacherRef = teacher ?? recorded?.teacherRef else {
            throw ToolError.usage("--teacher is required (a teacher checkpoint reference)")
        }
        let loaded = try LoadedModel.load(reference: teacherRef, in: store)
        guard loaded.kind == .teacher else {
            throw ToolError.badInput("'\(teacherRef)' is a student checkpoint (\(loaded.displayName)); --teacher expects a teacher")
        }
        if let r = recorded, r.teacherHash != loaded.contentHash {
            throw ToolError.badInput("teacher '\(teacherRef)' (\(loaded.contentHash.prefix(12))) is not the teacher this run was started with (\(r.teacherHash.prefix(12)))")
        }
        var bankInfo: BankInput?
        if config.needsBank || bank != nil {
            guard let bankRef = bank ?? recorded?.bankRef else {
                throw ToolError.usage("--method \(config.method.rawValue)\(config.ota ? " --ota" : "") needs --bank (a trajectory bank from fs-rollout)")
            }
            let b = try BankInput.load(store, ref: bankRef)
            if let r = recorded, let h = r.bankHash, h != b.record.hash {
                throw ToolError.badInput("bank '\(bankRef)' (\(b.record.shortHash)) is not the bank this run was started with (\(h.prefix(12)))")
            }
            if recorded == nil {
                try config.adopt(bank: b.manifest, segments: b.segments, name: "bank '\(b.record.name)'", teacherHash: loaded.contentHash,
                                 keepSegments: method.segments != nil, keepSubsteps: method.substeps != nil,
                                 keepCFGRange: method.cfgRange != nil)
            }
            if !config.needsBank { common.log("note: --bank is not used by this configuration (recorded as lineage only)") }
            bankInfo = b
        }
        let base = loaded.model.network.parameterSpecs
        if recorded == nil, let l = lora.config(base: base) { config.lora = l }
        try config.validate()
        if let l = config.lora {
            do { _ = try LoRA(l, base: base) } catch { throw ToolError.usage("--lora-targets: \(error)") }
        }
        try checkMemory(config, teacher: loaded)
        if let b = bankInfo, b.stateShape != loaded.model.sampleShape {
            throw ToolError.badInput("bank '\(b.record.name)' holds states of \(b.stateShape) but the teacher makes \(loaded.model.sampleShape)")
        }
        return Inputs(teacher: loaded, teacherRef: teacherRef, bank: bankInfo,
                      images: config.needsImages ? try trainingImages(for: loaded) : nil,
                      trajectories: config.needsBank ? try bankInfo!.trajectories(store) : nil)
    }

    /// Refuses batches or pools that cannot fit before the pool is generated or the run marked running.
    func checkMemory(_ config: DistillConfig, teacher: LoadedModel) throws {
        let model = teacher.config, shape = teacher.model.sampleShape, adv = config.adversarialSamplesPerStep
        let passes = DistillConfig.networkPasses
        try MemoryBudget.check("--batch-size", value: config.batchSize) {
            MemoryEstimates.training(model, batch: $0 + adv, passes: passes, imageSize: shape[1])
                + DistillConfig.poolBytes(pairs: config.pairs, sampleShape: shape)
        }
        try MemoryBudget.check("--pairs", value: config.pairs) {
            MemoryEstimates.training(model, batch: config.batchSize + adv, passes: passes, imageSize: shape[1])
                + DistillConfig.poolBytes(pairs: $0, sampleShape: shape)
        }
    }

    /// The real images PeRFlow starts and `--adv-real data` use: `--data`, else the images the teacher was
    /// trained on (hash-checked), else MNIST train for teachers made before datasets were recorded.
    func trainingImages(for teacher: LoadedModel) throws -> ImageDataset {
        let images = data.spec == nil ? try data.loadRecorded(teacher.dataset, legacySpec: "mnist") : try data.load(defaultSplit: .train)
        guard Array(images.images.shape.dropFirst()) == teacher.model.sampleShape, images.classCount <= teacher.config.numClasses else {
            throw ToolError.badInput("\(images.summary) does not fit the teacher (\(teacher.model.sampleShape), \(teacher.config.numClasses) classes)")
        }
        return images
    }
}
