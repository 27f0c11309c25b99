import Foundation
import NN
import Store
import ToolSupport
import Train

/// A trajectory bank given with `--bank`: its record, what its config says about the grid it was rolled
/// out on (the checks that it fits the run are Train's `DistillConfig.adopt(bank:...)`).
///
/// The bank config is fs-rollout's `BankManifest` (read in any version). K always follows from the row size,
/// (K+1) states of `state_shape` (banks made before geometry was recorded: MNIST's, ImageGeometry.mnist).
struct BankInput {
    let record: ArtifactRecord
    /// What the bank's config records (grid, sub-steps, guidance range, teacher); a run takes its
    /// defaults and is checked against it with `DistillConfig.adopt(bank:...)`.
    let manifest: BankManifest
    /// K, from the row size.
    let segments: Int
    let ref: String
    /// [C, H, W] of one state.
    let stateShape: [Int]

    static func load(_ store: ArtifactStore, ref: String) throws -> BankInput {
        let a: ArtifactRecord
        do { a = try store.resolve(ref) } catch StoreError.unknownRef(_, let near) {
            throw ToolError.badInput("\(store.path): unknown bank reference '\(ref)' (expected the bank's name, a tag or a hash prefix)"
                                     + (near.isEmpty ? "" : "; nearest: \(near.joined(separator: ", "))"))
        }
        guard a.kind == ArtifactKind.trajectoryBank else {
            throw ToolError.badInput("\(store.path): '\(ref)' is a \(a.kind) artifact ('\(a.name)'), not a trajectory bank (make one with fs-rollout)")
        }
        guard a.state == "complete" else {
            throw ToolError.badInput("\(store.path): trajectory bank '\(a.name)' is still open (an unfinished fs-rollout? finish it with fs-rollout --resume)")
        }
        let meta = (try? OrderedJSON.parse(a.metadata)) ?? .object([])
        let m: BankManifest
        do { m = try BankManifest(reading: (try? OrderedJSON.parse(a.config)) ?? .object([])) } catch let e as ManifestError {
            throw ToolError.badInput("\(store.path): bank '\(a.name)': \(e.description)")
        }
        let shape = m.stateShape, f = shape.reduce(1, *)
        guard shape.count == 3, f > 0, let rowFloats = meta["row_floats"]?.intValue, rowFloats % f == 0, rowFloats / f >= 2 else {
            throw ToolError.badInput("\(store.path): bank '\(a.name)' rows are not (K+1) states of \(shape) (metadata \(a.metadata))")
        }
        let k = rowFloats / f - 1
        if let n = m.segments, n != k {
            throw ToolError.badInput("\(store.path): bank '\(a.name)' config says K = \(n) but its rows hold \(k + 1) states")
        }
        return BankInput(record: a, manifest: m, segments: k, ref: ref, stateShape: shape)
    }

    /// The bank's rows as an in-memory trajectory set.
    func trajectories(_ store: ArtifactStore) throws -> TrajectorySet {
        let b = try store.readBank(record)
        guard b.count > 0 else { throw ToolError.badInput("\(store.path): trajectory bank '\(record.name)' has no rows") }
        return TrajectorySet(segments: segments, labels: b.labels, guidance: b.guidance, states: b.states, sampleShape: stateShape)
    }
}
