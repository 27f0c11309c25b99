import Foundation
import NN
import Store
import TensorCore
import ToolSupport
import Train

/// The teacher's samples that trajectory MSE compares a student with, cached in the store as a sample_set
/// per chunk of seeds. Every evaluation of a results table measures its students against the same teacher,
/// seeds and plan (e.g. 32 guided steps on 5000 seeds), so the teacher samples them once instead of once per
/// row. The samples are a function of the teacher's weights, the plan, the seeds and the labels, all of which
/// the cache name hashes; and a sample's bits do not depend on the batch split or thread count, so a cached
/// chunk equals a fresh one on the same kernel set.
struct TeacherSamples {
    let teacher: LoadedModel
    let plan: SamplingPlan
    /// Where chunks are looked up and kept; nil: always sampled, never kept.
    let store: ArtifactStore?
    let log: (String) -> Void

    /// "teacher-samples-<teacher hash 16>-<key 16>": the key hashes the plan's sigmas and guidance (their
    /// bit patterns), the method, the seeds and the labels.
    func cacheName(seeds: [UInt64], labels: [Int]) -> String {
        let key = "sigmas " + plan.sigmas.map { String($0.bitPattern, radix: 16) }.joined(separator: ",")
            + " cfg \(String(plan.guidance.bitPattern, radix: 16)) method \(plan.method.rawValue)"
            + " seeds \(SeedRanges.text(seeds)) labels \(labels.map(String.init).joined(separator: ","))"
        return "teacher-samples-\(teacher.contentHash.prefix(16))-\(SHA256.hex(key).prefix(16))"
    }

    /// The teacher's samples of `seeds` with `labels`: the stored chunk if there is one, else sampled now
    /// (and kept, when there is a store).
    func samples(seeds: [UInt64], labels: [Int]) throws -> Tensor {
        let name = cacheName(seeds: seeds, labels: labels)
        let shape = [seeds.count] + teacher.model.sampleShape
        if let store, let a = try store.artifacts(kind: ArtifactKind.sampleSet).first(where: { $0.name == name }) {
            let blobs = try store.loadBlobs(a)
            if let t = try blobs.first(where: { $0.name == "samples" })?.tensor(file: store.path), t.shape == shape, t.isFinite {
                log("fs-eval: teacher samples of seeds \(SeedRanges.text(seeds)) from the store ('\(name)')")
                return t
            }
            throw ToolError.badInput("\(store.path): sample set '\(name)' is not the teacher's \(shape) samples (remove it with fs-store rm)")
        }
        let made = try SampleGeneration.generate(teacher.model, seeds: seeds, labels: labels, plan: plan, batchSize: 256,
                                                 modelName: "teacher \(teacher.displayName)",
                                                 afterGroup: Interruption.checkSampling)
        if let store {
            let meta: [String: Any] = [
                "purpose": "fs-eval --teacher (trajectory MSE reference)", "steps": plan.steps, "cfg": plan.guidance,
                "sigmas": plan.sigmas, "method": plan.method.rawValue, "seeds": SeedRanges.text(seeds), "count": seeds.count,
                "checkpoint": teacher.displayName, "checkpoint_hash": teacher.contentHash, "model_kind": teacher.kind.rawValue,
                "labels_dtype": "I64", "seeds_dtype": "U64",
            ]
            try store.putArtifact(kind: ArtifactKind.sampleSet, name: name, tensors: made.sampleSetEntries,
                                  metadata: JSONOutput.string(meta), parents: teacher.artifact.map { [$0.id] } ?? [])
            log("fs-eval: teacher samples of seeds \(SeedRanges.text(seeds)) kept in the store as '\(name)'")
        }
        return made.samples
    }
}
