import NN
import Store
import ToolSupport
import Train

/// What a bank records: its parent (the teacher) and its config (the `BankManifest`).
extension FSRollout {
    /// The bank's parent: the teacher artifact in --store (copied there from --teacher-store when it
    /// lives elsewhere, content-identical so merges fold the copies together); none for a file teacher.
    func teacherParent(_ loaded: LoadedModel, in store: ArtifactStore) throws -> [ArtifactID] {
        guard case .artifact(let a, let sourcePath) = loaded.source else { return [] }
        if sourcePath == store.path { return [a.id] }
        let source = try ArtifactStore(path: sourcePath, access: .read)
        let copy = try store.putArtifact(kind: a.kind, name: a.name, run: a.run, step: a.step,
                                         tensors: try source.payload(a).entries, metadata: a.metadata,
                                         config: a.config, codeRev: a.codeRev)
        guard copy.hash == a.hash else {
            throw ToolError.badInput("\(store.path): copy of teacher '\(a.name)' hashes to \(copy.shortHash), not \(a.shortHash)")
        }
        return [copy.id]
    }

    /// Everything that determines the rows, and nothing that differs between shards or runs (so the
    /// shard banks of one job array have equal configs and merge into one bank).
    func bankConfig(_ loaded: LoadedModel, _ r: TeacherRollout, _ range: GuidanceRange, _ all: SeedList) throws -> String {
        BankManifest(teacher: loaded.displayName, teacherHash: loaded.contentHash, teacherConfig: loaded.config,
                     schedule: schedule, shift: shift, segments: r.segments, substeps: r.substeps,
                     teacherSteps: r.teacherGrid.steps, boundarySigmas: r.boundarySigmas, cfgRange: (range.lo, range.hi),
                     stateShape: r.sampleShape, seeds: all.description, count: all.count, shards: shard.count, data: loaded.dataset,
                     notes: ["solver": "euler", "guidance": "lo + (hi - lo) * uniform(streamSeed(seed, guidance))",
                             "labels": "seed % \(max(1, loaded.config.numClasses))",
                             "noise": "perSampleNoise(seed, \(r.sampleShape))", "sample_index": "position in seeds"]).json
    }
}
