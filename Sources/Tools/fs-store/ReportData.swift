import Foundation
import NN
import Store

/// What the report shows of one stored evaluation (fs-eval's JSON, kept as the eval_result's metadata)
/// and of the run that made the evaluated checkpoint.
struct EvalNumbers {
    var fid: Double?
    var fidCI: (Double, Double)?
    var kid: Double?
    var kidStd: Double?
    var kidCI: (Double, Double)?
    var classAccuracy: Double?
    var trajectoryMSE: Double?
    var nfe: Int?
    var samples: Int?
    var seed: Int?
    /// The student's run, when the evaluated artifact is a run's checkpoint.
    var run: String?
    var secondsPerStep: Double?
    var finalLossDist: Double?
    /// Discriminator accuracy averaged over the last quarter of the steps (0.5 = chance).
    var discriminatorAccuracy: Double?

    init(_ a: ArtifactRecord, store: ArtifactStore) throws {
        let m = (try? OrderedJSON.parse(a.metadata)) ?? .object([])
        func interval(_ key: String) -> (Double, Double)? {
            guard let v = m[key]?.arrayValue, v.count == 2, let lo = v[0].doubleValue, let hi = v[1].doubleValue else { return nil }
            return (lo, hi)
        }
        fid = m["fid"]?.doubleValue; fidCI = interval("fid_ci95")
        kid = m["kid"]?.doubleValue; kidStd = m["kid_std"]?.doubleValue; kidCI = interval("kid_ci95")
        classAccuracy = m["class_accuracy"]?.doubleValue; trajectoryMSE = m["trajectory_mse"]?.doubleValue
        nfe = m["nfe"]?.intValue; samples = m["num_samples"]?.intValue; seed = m["seed"]?.intValue
        // The evaluated checkpoint's run and step: from the lineage, else from the record (an evaluation restored
        // from a shallow ledger has no parent in this store, but its run's metrics came along).
        var step: Int?
        if let parentID = a.parents.first, let parent = try? store.resolve("#\(parentID)"), parent.kind == ArtifactKind.checkpoint {
            (run, step) = (parent.run, parent.step)
        } else if let r = m["model_run"]?.stringValue {
            (run, step) = (r, m["model_step"]?.intValue)
        } else if let model = m["model"]?.stringValue, let r = model.split(separator: "@").first.map(String.init),
                  (try? store.run(r)) != nil {
            // a record made before model_run existed: its model is the checkpoint's name, RUN@STEP
            (run, step) = (r, model.split(separator: "@").dropFirst().first.flatMap { Int($0) })
        }
        guard let run else { return }
        // The run up to the evaluated checkpoint: a row that evaluates an early checkpoint of a longer run shows
        // that checkpoint's loss and D accuracy, not the run's last.
        let points = try store.metrics(run: run).filter { p in step.map { p.step <= $0 } ?? true }
        guard let last = points.map(\.step).max() else { return }
        secondsPerStep = points.last { $0.name == "seconds_per_step" }?.value
        finalLossDist = points.last { $0.name == "loss_dist" && $0.step == last }?.value
        let d = points.filter { $0.name == "d_acc" && Double($0.step) > 0.75 * Double(last) }.map(\.value)
        discriminatorAccuracy = d.isEmpty ? nil : d.reduce(0, +) / Double(d.count)
    }
}

/// The stored evaluations by artifact name.
func storedEvaluations(_ store: ArtifactStore) throws -> [String: EvalNumbers] {
    var out: [String: EvalNumbers] = [:]
    for a in try store.artifacts(kind: ArtifactKind.evalResult) { out[a.name] = try EvalNumbers(a, store: store) }
    return out
}
