import Foundation

/// fs-eval's human-readable result line: sensible precision (the JSON output keeps full precision),
/// and a negative KID explained rather than printed bare (KID is an unbiased estimate of a squared
/// distance, so it dips below 0 when the two sets are closer than its noise can resolve).
enum EvalSummary {
    static func human(what: String, _ out: [String: Any], count: Int) -> String {
        func v(_ k: String) -> Double? { out[k] as? Double }
        var s = "\(what): FID \(String(format: "%.3f", v("fid") ?? .nan))"
        if let kid = v("kid") {
            s += "  KID \(String(format: "%.5f", kid))"
            if let std = v("kid_std") { s += String(format: " ± %.5f", std) }
            if kid < 0 { s += " (negative: below the estimator's noise, i.e. indistinguishable from 0)" }
        }
        if let a = v("class_accuracy") { s += String(format: "  accuracy %.4f", a) }
        if let p = v("precision"), let r = v("recall") { s += String(format: "  precision %.4f  recall %.4f", p, r) }
        if let m = v("trajectory_mse") { s += String(format: "  trajectory MSE %.5f", m) }
        s += "  (\(count) samples)"
        // Intervals last, so the line still starts "NAME: FID x.xxx  KID" for scripts that read it.
        if let f = out["fid_ci95"] as? [Double], let k = out["kid_ci95"] as? [Double], let how = out["interval"] as? String {
            s += String(format: "\n  95%% intervals: FID [%.3f, %.3f]  KID [%.5f, %.5f]  (%@)", f[0], f[1], k[0], k[1], how)
        }
        return s
    }
}
