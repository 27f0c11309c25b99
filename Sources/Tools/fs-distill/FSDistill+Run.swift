import Foundation
import Store
import ToolSupport
import Train

extension FSDistill {
    /// Builds the trainer (generating a PeRFlow pool first when the method uses one), runs the shared
    /// training loop with student checkpoints, and prints the summary.
    func train(_ store: ArtifactStore, dp: DataParallelTool, config: DistillConfig, inputs: Inputs,
               restored: DistillState?, overrides: [ResumeConfig.Change]) throws {
        // A finished run says so before anything is built (a PeRFlow pool takes minutes to solve).
        if let r = restored, r.step >= config.steps {
            common.log("run \(runName) is already at step \(r.step) >= --steps \(config.steps); nothing to do")
            try summary(store, r, config: config, last: nil, secondsPerStep: nil)
            return
        }
        let pooled = config.generatesPool
        if pooled {
            common.log("generating \(config.pairs) PeRFlow pairs (teacher, \(config.substeps) sub-steps, CFG U[\(config.cfgLow), \(config.cfgHigh)])")
        }
        let poolProgress = pooled ? common.progress("pairs", total: config.pairs, unit: "pair") : nil
        let data = try DistillData(config: config, teacher: inputs.teacher.model, trajectories: inputs.trajectories,
                                   images: inputs.images, poolProgress: { poolProgress?.update(completed: $0) })
        poolProgress?.finish()
        let trainer = DistillTrainer(data: data, communicator: dp.communicator)
        var state = restored ?? trainer.initialState()
        try dp.loaded()
        if let images = inputs.images { common.log("data: \(images.summary)") }
        let writer = StudentCheckpoint(store: store, run: runName, config: config, teacher: inputs.teacher,
                                       teacherRef: inputs.teacherRef, bank: inputs.bank)
        if dp.writes {
            try store.beginRun(name: runName, kind: "student", config: try ResumeConfig.recording(
                config.json, step: state.step, changes: overrides, previous: try store.run(runName)?.config))
        }
        var lastMetrics: DistillStepMetrics?
        var loop = TrainLoop<DistillState>(target: config.steps, checkpointEvery: training.checkpointEvery) { state, reference in
            let m = try trainer.step(&state, lossScale: reference)
            lastMetrics = m
            var detail = String(format: "dist %.4g", m.lossDist)   // significant digits: PCM's loss is ~1e-5
            if let d = m.lossD, let a = m.dAccuracy { detail += String(format: " D %.3f acc %.2f", d, a) }
            if let f = m.lossFM { detail += String(format: " fm %.4g", f) }
            return TrainLoopStep(loss: m.lossDist, metrics: m.named, detail: detail)
        }
        loop.saveCheckpoint = { try writer.save($0) }
        loop.checkpointMetrics = { [("seconds_per_step", $0.secondsPerStep)] }
        let outcome = try store.guardingRun(runName) { () throws -> TrainLoopOutcome in
            // Steps already in the metric table (a kill after the metrics but before the checkpoint) are not repeated.
            loop.recordedUpTo = try store.metrics(run: runName, name: "loss_dist").map(\.step).max() ?? 0
            loop.attach(store: store, run: runName, dp: dp, progress: common.progress(
                "fs-distill \(runName)", total: config.steps, unit: "step", completed: state.step))
            do { return try loop.run(&state) } catch let e as TrainingDiverged { throw ToolError.diverged(e.description) }
        }
        try outcome.throwIfInterrupted(store: store, run: runName, step: state.step, resume:
            "fs-distill --store \(store.path) --run \(runName) --steps \(config.steps) --resume")
        let sps = loop.timing.elapsed / Double(max(1, loop.timing.steps))
        try summary(store, state, config: config, last: lastMetrics, secondsPerStep: sps)
    }

    func summary(_ store: ArtifactStore, _ s: DistillState, config: DistillConfig, last: DistillStepMetrics?,
                 secondsPerStep: Double?) throws {
        var out: [String: Any] = ["run": runName, "step": s.step, "store": store.path, "checkpoint": "\(runName)@\(s.step)",
                                  "method": config.method.rawValue, "segments": config.segments,
                                  "schedule": config.schedule.rawValue]
        if let last { for (k, v) in last.named { out[k] = v } }
        if let secondsPerStep { out["seconds_per_step"] = secondsPerStep }
        try common.emit(out, human: "distilled \(runName) to step \(s.step)"
                        + (last.map { String(format: ", loss_dist %.4f", $0.lossDist) } ?? "")
                        + (secondsPerStep.map { String(format: ", %.3f s/step", $0) } ?? ""))
    }
}
