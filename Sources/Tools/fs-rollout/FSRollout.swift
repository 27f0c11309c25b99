import ArgumentParser
import Foundation
import NN
import Store
import TensorCore
import ToolSupport
import Train

/// fs-rollout: options and the rollout here; the bank's parent and config in FSRollout+Bank, the
/// --shard and --cfg-range types in RolloutArguments, the help in FSRollout+Help.
@main
struct FSRollout: ParsableCommand {
    @OptionGroup var common: CommonOptions
    @Option(help: ArgumentHelp("Teacher: RUN (latest checkpoint, EMA weights), RUN@STEP, tag, artifact name, hash prefix, or a .safetensors file.",
                               valueName: "ref"))
    var teacher: String
    @Option(help: ArgumentHelp("Store to resolve a --teacher reference in (default: --store).", valueName: "path"))
    var teacherStore: String?
    @Option(help: "Name of the trajectory bank artifact.") var name: String
    @Option(help: ArgumentHelp("Sample seeds (EDM syntax: 0-9999 or 1,2,5-10).", valueName: "list"),
            transform: { try SeedList(parsing: $0) })
    var seeds: SeedList?
    @Option(help: "Number of samples: seeds 0..N-1 (instead of --seeds).") var num: Int?
    @Option(help: ArgumentHelp("Take the i-th of n contiguous parts of the seed list (0-based).", valueName: "i/n"),
            transform: { try Shard(parsing: $0) })
    var shard: Shard = Shard(index: 0, count: 1)
    @Option(help: "Student segments K (K+1 states are stored).") var segments: Int = 4
    @Option(help: "Teacher Euler sub-steps per segment S.") var substeps: Int = 8
    @Option(help: ArgumentHelp("Grid that defines the segment boundaries.", valueName: "fixed|diffusers"))
    var schedule: ScheduleKind = .fixed
    @Option(help: "Schedule shift.") var shift: Float = 3
    @Option(help: ArgumentHelp("Guidance range LO,HI (or one value W); default: recommended_cfg +- 0.5, at least 1.",
                               valueName: "lo,hi"),
            transform: { try GuidanceRange(parsing: $0) })
    var cfgRange: GuidanceRange?
    @Option(help: "Samples per batch, and per committed transaction (changes speed, never the results).")
    var batchSize: Int = 64
    @Flag(help: "Reopen the existing open bank and fill in only the missing samples.") var resume = false

    static func main() { runAsTool() }

    func validate() throws {
        guard segments >= 1 else { throw ValidationError("--segments must be at least 1, got \(segments)") }
        guard substeps >= 1 else { throw ValidationError("--substeps must be at least 1, got \(substeps)") }
        try OptionCheck.float("--shift", shift, .positive)
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        guard !name.isEmpty else { throw ValidationError("--name must not be empty") }
        switch (seeds, num) {
        case (nil, nil): throw ValidationError("give the samples with --seeds A-B or --num N")
        case (.some, .some): throw ValidationError("--seeds and --num exclude each other")
        case (nil, .some(let n)):
            guard n >= 1 && n <= SeedList.maxCount else { throw ValidationError("--num must be 1...\(SeedList.maxCount), got \(n)") }
        case (.some(let s), nil):
            guard s.count >= 1 else { throw ValidationError("--seeds lists no seed") }
        }
    }

    /// The whole seed list (before sharding).
    var allSeeds: SeedList { seeds ?? SeedList((0..<UInt64(num ?? 0)).map { $0 }) }

    mutating func run() throws {
        common.applyThreads()
        let storePath = common.storePath
        // The teacher: a file, or a reference resolved in --teacher-store (else --store).
        let loaded = try LoadedModel.load(teacher, store: {
            let path = teacherStore ?? storePath
            guard FileManager.default.fileExists(atPath: path) else {
                throw ToolError.badInput("store \(path) does not exist (give --store/--teacher-store PATH, or a .safetensors teacher)")
            }
            return try ArtifactStore(path: path, access: .read)   // only read: works on a read-only store
        })
        // A batch holds (K+1) states per sample plus the solver's working copies: refuse what cannot fit.
        let (k, floats) = (segments, loaded.geometry.sampleShape.reduce(1, *))
        try MemoryBudget.check("--batch-size", value: batchSize) { MemoryEstimates.rollout(batch: $0, segments: k, sampleFloats: floats) }
        let range = cfgRange ?? GuidanceRange(lo: max(1, loaded.recommendedCFG - 0.5), hi: max(1, loaded.recommendedCFG + 0.5))
        let rollout = TeacherRollout(model: loaded.model, segments: segments, substeps: substeps, schedule: schedule,
                                     shift: shift, guidanceRange: (range.lo, range.hi),
                                     sampleShape: loaded.geometry.sampleShape)

        let all = allSeeds
        guard shard.count <= all.count else {
            throw ToolError.usage("--shard \(shard): \(shard.count) shards for only \(all.count) seeds")
        }
        let mine = all.shard(shard.index, of: shard.count)
        var indexOfSeed: [UInt64: Int] = [:]
        indexOfSeed.reserveCapacity(all.count)
        for (i, s) in all.seeds.enumerated() { indexOfSeed[s] = i }

        let store = try ArtifactStore(path: storePath)
        let existing = try store.artifacts(kind: ArtifactKind.trajectoryBank).first { $0.name == name }
        if existing != nil && !resume {
            throw ToolError.usage("\(store.path): trajectory bank '\(name)' already exists (state \(existing!.state)); "
                                  + "pass --resume to fill in its missing samples, or choose another --name")
        }
        let parents = try teacherParent(loaded, in: store)
        let runName = "fs-rollout:\(name):shard-\(shard.index)-of-\(shard.count)"
        try store.beginRun(name: runName, kind: "rollout", config: try JSONOutput.string([
            "bank": name, "shard": shard.description, "seeds": mine.description, "count": mine.count,
            "batch_size": batchSize, "threads": ComputeThreads.count, "teacher": loaded.displayName,
            "teacher_hash": loaded.contentHash,
        ]))
        defer { store.failIfRunning(runName) }   // an error below never leaves the run looking alive
        var bank = try store.createOrOpenBank(name: name, config: try bankConfig(loaded, rollout, range, all),
                                              rowFloats: rollout.rowFloats, run: runName, parents: parents)
        let done = try store.existingSampleIndices(bank: bank)
        let missing = mine.seeds.filter { !done.contains(indexOfSeed[$0]!) }
        let already = mine.count - missing.count

        common.log("fs-rollout: teacher \(loaded.displayName) (\(loaded.contentHash.prefix(12))), bank '\(name)' in \(store.path)"
                   + (shard.count > 1 ? " shard \(shard) (\(mine.count) of \(all.count) seeds)" : "")
                   + ": \(missing.count) to roll out" + (already > 0 ? ", \(already) already stored" : "")
                   + "; K=\(segments) x S=\(substeps) Euler steps on \(schedule.rawValue) shift \(shift), "
                   + "boundaries \(SampleGeneration.jsonList(rollout.boundarySigmas)), w ~ U[\(range.lo), \(range.hi)], "
                   + "batch \(batchSize), \(ComputeThreads.count) threads")

        let progress = common.progress("fs-rollout", total: mine.count, unit: "traj", completed: already)
        let t0 = Progress.monotonicSeconds()
        var written = 0
        for start in stride(from: 0, to: missing.count, by: batchSize) {
            let batch = Array(missing[start..<min(missing.count, start + batchSize)])
            let trajectories = rollout.trajectories(seeds: batch)
            let rows = try trajectories.map { t -> TrajectoryRow in
                guard t.states.allSatisfy({ $0.isFinite }) else {
                    throw ToolError.diverged("teacher trajectory of seed \(t.seed) (w \(t.guidance)) is not finite")
                }
                return TrajectoryRow(sample: indexOfSeed[t.seed]!, seed: t.seed, label: t.label, guidance: t.guidance,
                                     states: t.states)
            }
            try store.appendTrajectories(bank: bank, rows: rows)
            written += rows.count
            progress.advance(by: rows.count)
            if let signal = Interruption.pending {
                progress.finish()
                try store.setRunStatus(runName, RunStatus.interrupted)
                throw Interruption.stopped(signal, "\(already + written) of \(mine.count) trajectories are committed to the open bank "
                                           + "'\(name)' in \(store.path); run '\(runName)' is marked interrupted. Resume with the same "
                                           + "command plus --resume")
            }
        }
        let seconds = Progress.monotonicSeconds() - t0
        progress.finish()
        let rate = written > 0 ? Double(written) / max(seconds, 1e-9) : 0

        bank = try store.finalizeBank(bank)
        let total = try store.existingSampleIndices(bank: bank).count
        if written > 0 { try store.recordMetric(run: runName, step: already + written, name: "trajectories_per_second", value: rate) }
        try store.setRunStatus(runName, RunStatus.finished)

        let out: [String: Any] = [
            "bank": bank.name, "hash": bank.hash, "trajectories": total, "written": written,
            "trajectories_per_second": rate, "seconds": seconds, "store": store.path, "shard": shard.description,
            "segments": segments, "substeps": substeps, "schedule": schedule.rawValue, "shift": shift,
            "cfg_range": [range.lo, range.hi], "boundary_sigmas": rollout.boundarySigmas,
            "teacher": loaded.displayName, "teacher_hash": loaded.contentHash, "batch_size": batchSize,
            "threads": ComputeThreads.count,
        ]
        try common.emit(out, human: String(format: "bank '%@' (%@): %d trajectories, %d new in %.1f s (%.2f trajectories/s)",
                                           bank.name, bank.shortHash, total, written, seconds, rate))
    }
}
