import Foundation
import Store
import TensorCore
import ToolSupport

/// fs-eval's record in the store: an eval_result artifact (lineage to what was measured) and the
/// metrics of run eval/<model>.
enum EvalRecord {
    static func store(_ out: [String: Any], name: String?, store: ArtifactStore, parent: ArtifactRecord?, what: String,
                      log: (String) -> Void) throws {
        var stable = out
        stable["sample_seconds"] = nil; stable["eval_seconds"] = nil
        let key = SHA256.hex(try JSONOutput.string(stable)).prefix(12)
        let artifactName = name ?? "eval-\(what)-\(key)"
        // The automatic name hashes the results (not the timings): the same evaluation run again finds its
        // record already stored and keeps it, rather than failing on a name clash.
        if name == nil, let existing = try? store.resolve(artifactName, kind: ArtifactKind.evalResult),
           existing.name == artifactName {
            log("fs-eval: the same result is already stored as '\(existing.name)' (\(existing.shortHash))")
            return
        }
        let a = try store.putArtifact(kind: ArtifactKind.evalResult, name: artifactName, tensors: [],
                                      metadata: try JSONOutput.string(out), parents: parent.map { [$0.id] } ?? [])
        let run = "eval/\(what)"
        try store.beginRun(name: run, kind: "eval", config: try JSONOutput.string(stable))
        let step = parent?.step ?? 0
        var points = ["fid", "kid", "kid_std", "class_accuracy", "precision", "recall", "trajectory_mse"].compactMap { k in
            (out[k] as? Double).map { MetricPoint(step: step, name: k, value: $0) }
        }
        for k in ["fid", "kid"] {
            if let ci = out["\(k)_ci95"] as? [Double], ci.count == 2 {
                points += [MetricPoint(step: step, name: "\(k)_ci95_low", value: ci[0]),
                           MetricPoint(step: step, name: "\(k)_ci95_high", value: ci[1])]
            }
        }
        try store.recordMetrics(run: run, points)
        try store.setRunStatus(run, RunStatus.finished)
        log("fs-eval: stored \(a.kind) '\(a.name)' (\(a.shortHash))")
    }
}
