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
    @Option(help: "Feature network: mnist | fashion-mnist (embedded), a .safetensors file, or a feature_network artifact (default: the dataset's).") var features: String?
    @Option(help: "Teacher for trajectory MSE: its samples from the same seeds and labels.") var teacher: String?
    @Option(help: "Teacher steps for trajectory MSE (fixed schedule).") var teacherSteps: Int = 32
    @Option(help: "Teacher guidance for trajectory MSE (default: its recommended_cfg).") var teacherCfg: Float?
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
    }

    /// Samples generated and passed through the feature network per round: a multiple of the sampler's
    /// group (32) and of the extractor's batch (500), so streaming changes no result bit.
    static let chunk = 4000

    /// Bytes an evaluation of `n` samples keeps: features and logits of every sample (F32, and one
    /// copy while they are joined), one chunk of images with the UNet's and the teacher's activations,
    /// the reference set's features, and the precision/recall radii.
    static func memoryNeeded(samples n: Int, fromSampleSet: Bool, imageFloats: Int = 784, classes: Int = 10) -> Double {
        let perSample = Double(FeatureNetwork.featureDimension + classes) * 4 * 2
        let images = Double(fromSampleSet ? n : chunk) * Double(imageFloats) * 4 * 3
        return Double(n) * perSample + images + 256 * 1024 * 1024
    }

    func run() throws {
        common.applyThreads()
        if samples == nil {
            try MemoryBudget.check("--num-samples", value: numSamples, minimum: 2) {
                Self.memoryNeeded(samples: $0, fromSampleSet: false)
            }
        }
        let store = try common.openExistingStore()
        let t0 = Progress.monotonicSeconds()
        var out: [String: Any] = [:]
        let features: Tensor, logits: Tensor, labels: [Int], parent: ArtifactRecord?, what: String, count: Int
        var unconditional = false
        let refData: ImageDataset, extractor: FeatureExtractor, featureName: String
        if let samples {
            let a = try store.resolve(samples, kind: ArtifactKind.sampleSet)
            let blobs = try store.loadBlobs(a)
            guard let s = blobs.first(where: { $0.name == "samples" }), let l = blobs.first(where: { $0.name == "labels" }) else {
                throw ToolError.badInput("\(store.path): sample set '\(a.name)' has no samples/labels tensors")
            }
            let images = try s.tensor(file: store.path)
            let made = try? JSONDecoder().decode(DatasetRecord.self, from: Data((OrderedJSON.parse(a.metadata)["data"]?.serialized ?? "").utf8))
            (refData, extractor, featureName) = try reference(for: made, shape: images.shape, what: "sample set '\(a.name)'", store: store)
            guard images.isFinite else {
                throw ToolError.badInput("\(store.path): sample set '\(a.name)' holds NaN or infinite samples (made by a diverged model)")
            }
            labels = l.integers()
            guard labels.count == images.shape[0] else {
                throw ToolError.badInput("\(store.path): sample set '\(a.name)' has \(labels.count) labels for \(images.shape[0]) samples")
            }
            (parent, what, count) = (a, a.name, images.shape[0])
            out["sample_seconds"] = Progress.monotonicSeconds() - t0
            // Samples are clamped to the pixel range before the feature network sees them.
            (features, logits) = try extractor(images.map { min(1, max(-1, $0)) })
        } else {
            let loaded = try LoadedModel.load(checkpoint!, store: { store })
            unconditional = loaded.config.numClasses == 0
            (refData, extractor, featureName) = try reference(for: loaded.dataset, shape: [numSamples] + loaded.model.sampleShape,
                                                              what: loaded.displayName, store: store)
            let sched = try SampleGeneration.schedule(for: loaded, steps: steps, kind: schedule, shift: shift, sigmas: nil)
            let plan = SamplingPlan(sigmas: sched.sigmas, guidance: cfg ?? loaded.recommendedCFG)
            let teacherModel = try teacher.map { try LoadedModel.load($0, store: { store }) }
            let teacherPlan = teacherModel.map { t in
                SamplingPlan(sigmas: SigmaSchedule.make(.fixed, steps: teacherSteps, shift: t.shift).sigmas,
                             guidance: teacherCfg ?? t.recommendedCFG)
            }
            labels = SampleGeneration.balancedLabels(count: numSamples, classes: loaded.config.numClasses)
            let progress = common.progress("fs-eval sample", total: numSamples, unit: "img")
            // Streamed: each chunk is sampled, measured and dropped, so memory grows with the features only.
            var f = [Float](), g = [Float](), mse = [Double]()
            for first in stride(from: 0, to: numSamples, by: Self.chunk) {
                let end = min(numSamples, first + Self.chunk)
                let chunkSeeds = (first..<end).map { seed &+ UInt64($0) }
                let chunkLabels = Array(labels[first..<end])
                let images = try SampleGeneration.generate(loaded.model, seeds: chunkSeeds, labels: chunkLabels, plan: plan,
                                                           batchSize: 256, modelName: "checkpoint \(loaded.displayName)",
                                                           onBatch: { progress.update(completed: first + $0) }).samples
                let (cf, cl) = try extractor(images.map { min(1, max(-1, $0)) })
                f += cf.data; g += cl.data
                if let t = teacherModel, let tp = teacherPlan {
                    let reference = try SampleGeneration.generate(t.model, seeds: chunkSeeds, labels: chunkLabels, plan: tp,
                                                                  batchSize: 256, modelName: "teacher \(t.displayName)").samples
                    mse += try TrajectoryFidelity(student: images, teacher: reference).perSample
                }
            }
            progress.finish()
            features = Tensor(shape: [numSamples, FeatureNetwork.featureDimension], data: f)
            logits = Tensor(shape: [numSamples, extractor.config.classes], data: g)
            (parent, what, count) = (loaded.artifact, loaded.displayName, numSamples)
            out = ["steps": plan.steps, "cfg": Double(plan.guidance), "nfe": plan.evaluationsPerSample,
                   "sigmas": plan.sigmas.map { Double($0) }, "seed": Int(seed), "schedule": sched.sigmas == SigmaSchedule.make(.fixed, steps: plan.steps, shift: sched.shift).sigmas ? "fixed" : "other"]
            if let t = teacherModel {
                out["trajectory_mse"] = mse.reduce(0, +) / Double(mse.count)
                out["teacher"] = t.displayName
            }
            out["sample_seconds"] = Progress.monotonicSeconds() - t0
        }
        if count < 2 * FeatureNetwork.featureDimension {
            // The 128x128 covariance of fewer samples is rank-deficient: FID is then mostly estimator bias.
            common.log("fs-eval: warning: \(count) samples are too few for a meaningful FID (the features have "
                       + "\(FeatureNetwork.featureDimension) dimensions); use thousands")
        }
        let t1 = Progress.monotonicSeconds()
        let ref = try Reference.features(of: refData, extractor: extractor, store: store, log: common.log)
        out["fid"] = try frechetDistance(try GaussianStatistics(features: features), ref.stats)
        let kid = try KernelInceptionDistance(features, ref.features, seed: seed)
        out["kid"] = kid.mean
        out["kid_std"] = kid.std
        // An unconditional model's samples have no class to be right about.
        if !unconditional {
            out["class_accuracy"] = try classAccuracy(logits: logits, labels: labels)
        }
        if precisionRecall {
            // FID mixes quality and diversity; these two separate them (Kynkaanniemi et al. 2019).
            let pr = try PrecisionRecall(real: ref.features, generated: features)
            (out["precision"], out["recall"]) = (pr.precision, pr.recall)
        }
        out["num_samples"] = count
        out["reference"] = refData.record.spec + (refData.split.map { "-\($0.rawValue)" } ?? "")
        out["reference_sha256"] = refData.record.sha256
        out["feature_network"] = extractor.checksum
        out["feature_network_name"] = featureName
        out["model"] = what
        out["eval_seconds"] = Progress.monotonicSeconds() - t1
        for key in ["fid", "kid", "kid_std", "class_accuracy", "trajectory_mse"] {
            if let v = out[key] as? Double, !v.isFinite {
                throw ToolError.failure("\(what): \(key) came out \(v); nothing was stored")
            }
        }
        try record(out, store: store, parent: parent, what: what)
        try common.emit(out, human: EvalSummary.human(what: what, out, count: count))
    }

    /// The reference images (`--data`/`--split` if given, else the test split, where the format has one,
    /// of the dataset the model was made from, else MNIST test) and the feature network for them; the
    /// samples' shape must be the reference's.
    func reference(for record: DatasetRecord?, shape: [Int], what: String,
                   store: ArtifactStore) throws -> (ImageDataset, FeatureExtractor, String) {
        let refData: ImageDataset
        if data.spec != nil {
            refData = try data.load(defaultSplit: .test)
        } else if let record {
            let spec = try DatasetSpec(parsing: record.spec)
            refData = try spec.load(split: data.split ?? (spec.hasSplits() ? .test : nil))
        } else {
            refData = try ImageDataset.mnist(data.split ?? .test)
        }
        common.log("fs-eval: reference \(refData.summary)")
        guard shape.count == 4, Array(shape.dropFirst()) == refData.geometry.sampleShape else {
            throw ToolError.badInput("\(what): samples are \(Array(shape.dropFirst())), the reference \(refData.record.spec) is \(refData.geometry)")
        }
        let (fx, name) = try FeatureChoice.extractor(for: refData.record, features: features, store: store, log: common.log)
        return (refData, fx, name)
    }

    /// An eval_result artifact (lineage to what was measured) and metrics of run eval/<model>.
    func record(_ out: [String: Any], store: ArtifactStore, parent: ArtifactRecord?, what: String) throws {
        var stable = out
        stable["sample_seconds"] = nil; stable["eval_seconds"] = nil
        let key = SHA256.hex(try JSONOutput.string(stable)).prefix(12)
        let artifactName = name ?? "eval-\(what)-\(key)"
        // The automatic name hashes the results (not the timings): the same evaluation run again finds its
        // record already stored and keeps it, rather than failing on a name clash.
        if name == nil, let existing = try? store.resolve(artifactName, kind: ArtifactKind.evalResult),
           existing.name == artifactName {
            common.log("fs-eval: the same result is already stored as '\(existing.name)' (\(existing.shortHash))")
            return
        }
        let a = try store.putArtifact(kind: ArtifactKind.evalResult, name: artifactName, tensors: [],
                                      metadata: try JSONOutput.string(out), parents: parent.map { [$0.id] } ?? [])
        let run = "eval/\(what)"
        try store.beginRun(name: run, kind: "eval", config: try JSONOutput.string(stable))
        let step = parent?.step ?? 0
        let points = ["fid", "kid", "kid_std", "class_accuracy", "precision", "recall", "trajectory_mse"].compactMap { k in
            (out[k] as? Double).map { MetricPoint(step: step, name: k, value: $0) }
        }
        try store.recordMetrics(run: run, points)
        try store.setRunStatus(run, RunStatus.finished)
        common.log("fs-eval: stored \(a.kind) '\(a.name)' (\(a.shortHash))")
    }
}
