import ArgumentParser
import Datasets
import Foundation
import NN
import Store
import TensorCore
import ToolSupport
import Train

/// fs-train: options and the training run here; the run's config (new or --resume) in FSTrain+Config,
/// teacher checkpoints in FSTrain+Checkpoint, the backbone options in BackboneOptions, the help in FSTrain+Help.
@main
struct FSTrain: ParsableCommand {
    @OptionGroup var common: CommonOptions
    @Option(name: .customLong("run"), help: "Run name (checkpoints are RUN@STEP).") var runName: String
    @Option(help: "Backbone: unet or dit (default unet; the preset sizes it).") var model: String?
    @Option(help: "Preset (tiny, mnist, dit-tiny, dit-mnist; default mnist).") var preset: String?
    @OptionGroup var data: DataOptions
    @Option(help: "Train until this step.") var steps: Int
    @Option(help: "Checkpoint every K steps (and at the end).") var checkpointEvery: Int = 250
    @Option(help: "Seed for initialisation, data order and every per-sample draw (default 0).") var seed: UInt64?
    @Flag(help: "Continue run RUN from its latest checkpoint (settings given with it must match the recorded ones).")
    var resume = false
    @Flag(help: "With --resume: apply --lr/--batch-size/--seed values that differ from the recorded ones, and record the change in the run.")
    var overrideConfig = false
    @Option(help: "Override the preset's learning rate.") var lr: Float?
    @Option(help: "Override the preset's batch size.") var batchSize: Int?
    @Option(help: "Fixed gradient chunks per batch (the unit of MPI ranks; preset 4).") var gradientChunks: Int?
    @OptionGroup var backbone: BackboneOptions
    @Option(help: "Guidance weight recorded in the checkpoints as recommended_cfg (fs-sample's default --cfg; kept on --resume).")
    var recommendedCfg: Float?

    static func main() { runAsTool() }

    func validate() throws {
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1, got \(steps)") }
        guard checkpointEvery >= 1 else { throw ValidationError("--checkpoint-every must be at least 1, got \(checkpointEvery)") }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        if let model, !ModelConfig.kinds.contains(model) {
            throw ValidationError("--model '\(model)': expected one of \(ModelConfig.kinds.joined(separator: ", "))")
        }
        if let preset, !TeacherTrainingConfig.presetNames.contains(presetName(preset)) {
            throw ValidationError("unknown preset '\(preset)' (known: \(TeacherTrainingConfig.presetNames.joined(separator: ", ")))")
        }
        try OptionCheck.float("--lr", lr, .positive)
        try OptionCheck.float("--recommended-cfg", recommendedCfg)
    }

    mutating func run() throws { try DataParallelTool.run("fs-train") { try train($0) } }

    func train(_ dp: DataParallelTool) throws {
        common.applyThreads()
        let store = try dp.openStore(path: common.storePath) { try common.openStore() }
        let (config, state, guidance, images, overrides) = try runConfig(store)
        // Refuse a batch that cannot fit before anything is loaded or the run is marked running.
        try MemoryBudget.check("--batch-size", value: config.batchSize) {
            MemoryEstimates.training(config.model, batch: $0, imageSize: (config.data?.geometry ?? .mnist).height)
        }
        let trainData = try images ?? data.loadRecorded(config.data, legacySpec: TeacherTrainingConfig.legacyDataSpec)
        common.log("data: \(trainData.summary)")
        let trainer = TeacherTrainer(config: config, data: trainData, communicator: dp.communicator)
        var s = state ?? trainer.initialState()
        try dp.loaded()
        guard s.step < steps else {
            common.log("run \(runName) is already at step \(s.step) >= --steps \(steps); nothing to do")
            try printSummary(store, s, loss: nil, rate: nil)
            return
        }
        if dp.writes {
            try store.beginRun(name: runName, kind: "teacher", config: try ResumeConfig.recording(
                config.json, step: s.step, changes: overrides, previous: try store.run(runName)?.config))
        }
        var loop = TrainLoop<TrainingState>(target: steps, checkpointEvery: checkpointEvery) { s, reference in
            let loss = try trainer.step(&s, lossScale: reference)
            return TrainLoopStep(loss: loss, metrics: [("loss", loss)], detail: String(format: "loss %.4f", loss))
        }
        loop.saveCheckpoint = { try saveCheckpoint(store, config, $0, guidance: guidance) }
        loop.checkpointMetrics = { [("images_per_second", Double($0.steps * config.batchSize) / $0.elapsed)] }
        let outcome = try store.guardingRun(runName) { () throws -> TrainLoopOutcome in
            loop.attach(store: store, run: runName, dp: dp, progress: common.progress(
                "fs-train \(runName)", total: steps, unit: "step", completed: s.step))
            do { return try loop.run(&s) } catch let e as TrainingDiverged { throw ToolError(.diverged, e.description) }
        }
        try outcome.throwIfInterrupted(store: store, run: runName, step: s.step,
                                       resume: "fs-train --store \(store.path) --run \(runName) --steps \(steps) --resume")
        let lastLoss = loop.last?.loss ?? 0
        let rate = Double(loop.timing.steps * config.batchSize) / loop.timing.elapsed
        try printSummary(store, s, loss: lastLoss, rate: rate)
    }

    func printSummary(_ store: ArtifactStore, _ s: TrainingState, loss: Float?, rate: Double?) throws {
        var out: [String: Any] = ["run": runName, "step": s.step, "store": store.path,
                                  "checkpoint": "\(runName)@\(s.step)"]
        if let loss { out["final_loss"] = loss }
        if let rate { out["images_per_second"] = rate }
        try common.emit(out, human: "trained \(runName) to step \(s.step)" + (loss.map { String(format: ", loss %.4f", $0) } ?? ""))
    }
}

extension FSTrain {
    /// The preset for --model: `--model dit --preset tiny` is `dit-tiny`.
    func presetName(_ name: String) -> String { TeacherTrainingConfig.presetName(name, model: model ?? "unet") }
}
