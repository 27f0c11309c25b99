import ArgumentParser
import Datasets
import Eval
import Foundation
import NN
import Store
import TensorCore
import ToolSupport
import Train

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "evaluate",
                                                    abstract: "Evaluate a checkpoint or a sample set (the default subcommand).")

    @OptionGroup var common: CommonOptions
    @Option(help: "Model reference (RUN, RUN@STEP, tag, hash prefix, or a .safetensors file).") var checkpoint: String?
    @Option(help: "Evaluate an existing sample_set artifact instead of generating samples.") var samples: String?
    @Option(help: "Sampling steps (default: a student's segment count, else 32).") var steps: Int?
    @Option(help: "Schedule (default: the checkpoint's, else fixed).") var schedule: ScheduleKind?
    @Option(help: "Schedule shift (default: the checkpoint's, else 3).") var shift: Float?
    @Option(help: "Guidance weight (default: the checkpoint's recommended_cfg).") var cfg: Float?
    @Option(help: "Number of class-balanced samples.") var numSamples: Int = 10_000
    @Option(help: "First seed: sample i uses seed X+i.") var seed: UInt64 = 0
    @OptionGroup(title: "Reference (default: the test split of the model's dataset)") var data: DataOptions
    @Option(help: "Feature network: mnist | fashion-mnist (embedded), a .safetensors file, a feature_network artifact, or inception:FILE (pytorch-fid weights, docs/eval.md) (default: the dataset's).") var features: String?
    @Option(help: "Teacher for trajectory MSE: its samples from the same seeds and labels (kept in the store as a sample_set and reused by later evaluations with the same teacher, steps, guidance and seeds).") var teacher: String?
    @Option(help: "Teacher steps for trajectory MSE (fixed schedule).") var teacherSteps: Int = 32
    @Option(help: "Teacher guidance for trajectory MSE (default: its recommended_cfg).") var teacherCfg: Float?
    @Option(help: "Bootstrap resamples of the samples for the 95% FID/KID intervals (0 = none).")
    var bootstrap: Int = BootstrapResampling.defaultReplicates
    @Option(help: "Name of the eval_result artifact (default: derived from the model and settings).") var name: String?
    @Flag(help: "Also improved precision and recall (k = 3) against the reference: sample quality vs coverage.")
    var precisionRecall = false

    func validate() throws {
        guard (checkpoint == nil) != (samples == nil) else { throw ValidationError("give exactly one of --checkpoint or --samples") }
        guard numSamples >= 2 else { throw ValidationError("--num-samples must be at least 2") }
        if teacher != nil && checkpoint == nil { throw ValidationError("--teacher (trajectory MSE) needs --checkpoint, not --samples") }
        try OptionCheck.float("--cfg", cfg)
        try OptionCheck.float("--teacher-cfg", teacherCfg)
        try OptionCheck.float("--shift", shift, .positive)
        try OptionCheck.int("--steps", steps, 1...100_000)
        try OptionCheck.int("--teacher-steps", teacherSteps, 1...100_000)
        try OptionCheck.int("--bootstrap", bootstrap, 0...100_000)
    }

    /// Samples generated and passed through the feature network per round: a multiple of the sampler's
    /// group (32) and of the extractor's batch (500), so streaming changes no result bit.
    static let chunk = 4000

    /// Bytes an evaluation of `n` samples keeps: features and logits of every sample (F32, and one
    /// copy while they are joined), one chunk of images with the UNet's and the teacher's activations,
    /// the reference set's features, the precision/recall radii, and the bootstrap's Float64 copies of
    /// the features and its count matrix (`bootstrap` replicates).
    static func memoryNeeded(samples n: Int, fromSampleSet: Bool, imageFloats: Int, classes: Int,
                             bootstrap: Int = BootstrapResampling.defaultReplicates) -> Double {
        let perSample = Double(FeatureNetwork.featureDimension + classes) * 4 * 2
            + Double(bootstrap > 0 ? 2 * FeatureNetwork.featureDimension + bootstrap : 0) * 8
        let images = Double(fromSampleSet ? n : chunk) * Double(imageFloats) * 4 * 3
        return Double(n) * perSample + images + 256 * 1024 * 1024
    }

    func run() throws {
        common.applyThreads()
        // A .safetensors checkpoint needs no store: without one (none named, no ./flowsteer.db) the reference
        // features are computed afresh and the result is printed, not stored.
        let store = try common.openStoreIfPresent()
        func requiredStore() throws -> ArtifactStore { try store ?? common.openExistingStore() }
        let t0 = Progress.monotonicSeconds()
        var out: [String: Any] = [:]
        let measured: MeasuredSamples, labels: [Int], parent: ArtifactRecord?, what: String, ref: EvalReference
        var unconditional = false
        if let samples {
            let set = try EvalSampleSet.load(samples, store: try requiredStore())
            ref = try EvalReference.choose(for: set.dataset, shape: set.images.shape, what: "sample set '\(set.artifact.name)'",
                                           data: data, features: features, store: store, log: common.log)
            var m = MeasuredSamples(extractor: ref.extractor)
            try m.add(set.images)
            (measured, labels, parent, what) = (m, set.labels, set.artifact, set.artifact.name)
            if let plan = set.plan { out = plan.evaluationFields }
        } else {
            let loaded = try LoadedModel.load(checkpoint!, store: requiredStore)
            // Sized by the model's own images (a 3x32x32 model keeps 4x the floats of MNIST), before any sampling.
            try MemoryBudget.check("--num-samples", value: numSamples, minimum: 2) {
                Self.memoryNeeded(samples: $0, fromSampleSet: false, imageFloats: loaded.model.sampleShape.reduce(1, *),
                                  classes: max(loaded.config.numClasses, 1), bootstrap: bootstrap)
            }
            unconditional = loaded.config.numClasses == 0
            ref = try EvalReference.choose(for: loaded.dataset, shape: [numSamples] + loaded.model.sampleShape, what: loaded.displayName,
                                           data: data, features: features, store: store, log: common.log)
            let sched = try SampleGeneration.schedule(for: loaded.manifest, steps: steps, kind: schedule, shift: shift, sigmas: nil)
            let plan = SamplingPlan(sigmas: sched.sigmas, guidance: cfg ?? loaded.recommendedCFG)
            let teacherModel = try teacher.map { try LoadedModel.load($0, store: requiredStore) }
            let teacherSamples = teacherModel.map { t in
                TeacherSamples(teacher: t, plan: SamplingPlan(sigmas: SigmaSchedule.make(.fixed, steps: teacherSteps, shift: t.shift).sigmas,
                                                              guidance: teacherCfg ?? t.recommendedCFG),
                               store: store, log: common.log)
            }
            labels = SampleGeneration.balancedLabels(count: numSamples, classes: loaded.config.numClasses)
            let progress = common.progress("fs-eval sample", total: numSamples, unit: "img")
            // Streamed: each chunk is sampled, measured and dropped, so memory grows with the features only.
            var m = MeasuredSamples(extractor: ref.extractor)
            for first in stride(from: 0, to: numSamples, by: Self.chunk) {
                let rows = first..<min(numSamples, first + Self.chunk)
                let chunkSeeds = rows.map { seed &+ UInt64($0) }, chunkLabels = Array(labels[rows])
                let images = try SampleGeneration.generate(loaded.model, seeds: chunkSeeds, labels: chunkLabels, plan: plan,
                                                           batchSize: 256, modelName: "checkpoint \(loaded.displayName)",
                                                           afterGroup: Interruption.checkSampling,
                                                           onBatch: { progress.update(completed: first + $0) }).samples
                let reference = try teacherSamples?.samples(seeds: chunkSeeds, labels: chunkLabels)
                try m.add(images, teacher: reference)
            }
            progress.finish()
            (measured, parent, what) = (m, loaded.artifact, loaded.displayName)
            let fixed = SigmaSchedule.make(.fixed, steps: plan.steps, shift: sched.shift).sigmas
            out = plan.evaluationFields
            out["seed"] = Int(seed)
            out["schedule"] = sched.sigmas == fixed ? "fixed" : "other"
            if let t = teacherModel { out["teacher"] = t.displayName }
        }
        out["sample_seconds"] = Progress.monotonicSeconds() - t0
        if measured.count < 2 * ref.extractor.featureDimension {
            // The 128x128 covariance of fewer samples is rank-deficient: FID is then mostly estimator bias.
            common.log("fs-eval: warning: \(measured.count) samples are too few for a meaningful FID (the features have "
                       + "\(ref.extractor.featureDimension) dimensions); use thousands")
        }
        let t1 = Progress.monotonicSeconds()
        let reference = try ref.features(store: store, log: common.log)
        let settings = EvalSettings(seed: seed, bootstrap: bootstrap, classAccuracy: !unconditional && ref.extractor.classes > 0, precisionRecall: precisionRecall)
        let report = try EvalReport(measured, labels: labels, reference: reference, settings: settings)
        out.merge(report.fields) { _, new in new }
        out["num_samples"] = measured.count
        out["reference"] = ref.data.record.spec + (ref.data.split.map { "-\($0.rawValue)" } ?? "")
        out["reference_sha256"] = ref.data.record.sha256
        out["feature_network"] = ref.extractor.checksum
        out["feature_network_name"] = ref.featureName
        out["model"] = what
        // The student's run and step, which a shallow ledger keeps when the checkpoint itself stays behind.
        if let parent, parent.kind == ArtifactKind.checkpoint, let run = parent.run {
            out["model_run"] = run
            if let step = parent.step { out["model_step"] = step }
        }
        out["eval_seconds"] = Progress.monotonicSeconds() - t1
        if let bad = report.firstNonFinite {
            throw ToolError.failure("\(what): \(bad.name) came out \(bad.value); nothing was stored")
        }
        if store != nil || common.storeNamed {
            try EvalRecord.store(out, name: name, store: store ?? common.openStore(), parent: parent, what: what, log: common.log)
        } else {
            common.log("fs-eval: no eval_result stored (a file checkpoint and no --store or $FS_STORE; give one to keep it)")
        }
        try common.emit(out, human: EvalSummary.human(what: what, out, count: measured.count))
    }
}
