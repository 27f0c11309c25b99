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
    @OptionGroup var data: DataOptions
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
    }

    func run() throws {
        common.applyThreads()
        let store = try common.openExistingStore()
        let t0 = Progress.monotonicSeconds()
        var out: [String: Any] = [:]
        let images: Tensor, labels: [Int], parent: ArtifactRecord?, what: String
        var seeds: [UInt64] = []
        var modelData: DatasetRecord?
        if let samples {
            let a = try store.resolve(samples, kind: ArtifactKind.sampleSet)
            let blobs = try store.loadBlobs(a)
            guard let s = blobs.first(where: { $0.name == "samples" }), let l = blobs.first(where: { $0.name == "labels" }) else {
                throw ToolError.badInput("\(store.path): sample set '\(a.name)' has no samples/labels tensors")
            }
            images = try s.tensor(file: store.path)
            guard images.rank == 4 else {
                throw ToolError.badInput("\(store.path): sample set '\(a.name)' has shape \(images.shape), expected [N, C, H, W]")
            }
            labels = l.integers()
            modelData = try? JSONDecoder().decode(DatasetRecord.self, from: Data((OrderedJSON.parse(a.metadata)["data"]?.serialized ?? "").utf8))
            (parent, what) = (a, a.name)
        } else {
            let loaded = try LoadedModel.load(checkpoint!, store: { store })
            let sched = try SampleGeneration.schedule(for: loaded, steps: steps, kind: schedule, shift: shift, sigmas: nil)
            let plan = SamplingPlan(sigmas: sched.sigmas, guidance: cfg ?? loaded.recommendedCFG)
            seeds = (0..<UInt64(numSamples)).map { seed + $0 }
            labels = SampleGeneration.balancedLabels(count: numSamples, classes: loaded.config.numClasses)
            modelData = loaded.dataset
            let progress = common.progress("fs-eval sample", total: numSamples, unit: "img")
            images = SampleGeneration.generate(loaded.model, seeds: seeds, labels: labels, plan: plan, batchSize: 256,
                                               onBatch: { progress.update(completed: $0) }).samples
            progress.finish()
            (parent, what) = (loaded.artifact, loaded.displayName)
            out = ["steps": plan.steps, "cfg": Double(plan.guidance), "nfe": plan.evaluationsPerSample,
                   "sigmas": plan.sigmas.map { Double($0) }, "seed": Int(seed), "schedule": sched.sigmas == SigmaSchedule.make(.fixed, steps: plan.steps, shift: sched.shift).sigmas ? "fixed" : "other"]
        }
        out["sample_seconds"] = Progress.monotonicSeconds() - t0
        let t1 = Progress.monotonicSeconds()
        let refData = try referenceData(for: modelData)
        common.log("fs-eval: reference \(refData.summary)")
        let (extractor, featureName) = try FeatureChoice.extractor(for: refData.record, features: features, store: store, log: common.log)
        guard Array(images.shape.dropFirst()) == refData.geometry.sampleShape else {
            throw ToolError.badInput("samples of \(what) are \(Array(images.shape.dropFirst())), the reference \(refData.record.spec) is \(refData.geometry)")
        }
        let ref = try Reference.features(of: refData, extractor: extractor, store: store, log: common.log)
        // Samples are clamped to the pixel range before the feature network sees them.
        let (features, logits) = try extractor(images.map { min(1, max(-1, $0)) })
        out["fid"] = try frechetDistance(try GaussianStatistics(features: features), ref.stats)
        let kid = try KernelInceptionDistance(features, ref.features, seed: seed)
        out["kid"] = kid.mean
        out["kid_std"] = kid.std
        out["class_accuracy"] = try classAccuracy(logits: logits, labels: labels)
        if precisionRecall {
            // FID mixes quality and diversity; these two separate them (Kynkaanniemi et al. 2019).
            let pr = try PrecisionRecall(real: ref.features, generated: features)
            (out["precision"], out["recall"]) = (pr.precision, pr.recall)
        }
        out["num_samples"] = images.shape[0]
        out["reference"] = refData.record.spec + (refData.split.map { "-\($0.rawValue)" } ?? "")
        out["reference_sha256"] = refData.record.sha256
        out["feature_network"] = extractor.checksum
        out["feature_network_name"] = featureName
        out["model"] = what
        if let teacher, !seeds.isEmpty {
            let t = try LoadedModel.load(teacher, store: { store })
            let plan = SamplingPlan(sigmas: SigmaSchedule.make(.fixed, steps: teacherSteps, shift: t.shift).sigmas,
                                    guidance: teacherCfg ?? t.recommendedCFG)
            let reference = SampleGeneration.generate(t.model, seeds: seeds, labels: labels, plan: plan, batchSize: 256).samples
            out["trajectory_mse"] = try TrajectoryFidelity(student: images, teacher: reference).mse
            out["teacher"] = t.displayName
        }
        out["eval_seconds"] = Progress.monotonicSeconds() - t1
        try record(out, store: store, parent: parent, what: what)
        var human = String(format: "%@: FID %.3f  KID %.5f ± %.5f  accuracy %.4f", what, out["fid"] as! Double, kid.mean,
                           kid.std, out["class_accuracy"] as! Double)
        if let p = out["precision"] as? Double, let r = out["recall"] as? Double {
            human += String(format: "  precision %.4f  recall %.4f", p, r)
        }
        try common.emit(out, human: human + "  (\(images.shape[0]) samples)")
    }

    /// The reference images: `--data`/`--split` if given, else the test split (where the format has
    /// one) of the dataset the model was made from, else MNIST test.
    func referenceData(for record: DatasetRecord?) throws -> ImageDataset {
        if data.spec != nil { return try data.load(defaultSplit: .test) }
        guard let record else { return try ImageDataset.mnist(data.split ?? .test) }
        let spec = try DatasetSpec(parsing: record.spec)
        return try spec.load(split: data.split ?? (spec.hasSplits() ? .test : nil))
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
