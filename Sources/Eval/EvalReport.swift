import TensorCore

/// What an evaluation computes besides FID and KID, and how.
public struct EvalSettings: Sendable {
    /// Seed of the KID subsets and of the bootstrap resamples.
    public var seed: UInt64
    /// Bootstrap replicates for the FID and KID intervals (0: no intervals).
    public var bootstrap: Int
    /// Class accuracy of the samples against their requested labels (off for unconditional models).
    public var classAccuracy: Bool
    /// Improved precision and recall (k = 3): O(N²D), so only on request.
    public var precisionRecall: Bool

    public init(seed: UInt64, bootstrap: Int = BootstrapResampling.defaultReplicates, classAccuracy: Bool = true,
                precisionRecall: Bool = false) {
        (self.seed, self.bootstrap, self.classAccuracy, self.precisionRecall) = (seed, bootstrap, classAccuracy, precisionRecall)
    }
}

/// The eval pipeline's result: every metric of measured samples against a reference set.
///
/// The stages (sample -> features -> metrics) live here so every tool and test computes them one way;
/// a tool supplies the samples (`MeasuredSamples`), the reference (`ReferenceFeatures`, cached through
/// its closures) and the output. `fields` names the metrics as fs-eval's JSON has always named them.
public struct EvalReport: Sendable {
    public let count: Int
    public let fid: Double
    public let kid: KernelInceptionDistance
    public let classAccuracy: Double?
    public let precisionRecall: PrecisionRecall?
    public let trajectoryMSE: Double?
    public let fidInterval: BootstrapInterval?
    public let kidInterval: BootstrapInterval?
    /// How the intervals were made, e.g. "bootstrap over samples, B=200, seed 0, centred percentile".
    public let intervalMethod: String?

    public init(_ samples: MeasuredSamples, labels: [Int], reference: ReferenceFeatures, settings: EvalSettings) throws {
        let features = samples.features
        count = samples.count
        fid = try frechetDistance(try GaussianStatistics(features: features), reference.stats)
        kid = try KernelInceptionDistance(features, reference.features, seed: settings.seed)
        classAccuracy = settings.classAccuracy ? try Eval.classAccuracy(logits: samples.logits, labels: labels) : nil
        // FID mixes quality and diversity; precision and recall separate them (Kynkaanniemi et al. 2019).
        precisionRecall = settings.precisionRecall ? try PrecisionRecall(real: reference.features, generated: features) : nil
        trajectoryMSE = samples.trajectoryMSE
        if settings.bootstrap > 0 {
            fidInterval = try FIDBootstrap(features: features, reference: reference.stats, estimate: fid,
                                           replicates: settings.bootstrap, seed: settings.seed).interval
            kidInterval = try KIDBootstrap(features: features, reference: reference.features, kid: kid,
                                           replicates: settings.bootstrap, seed: settings.seed).interval
            intervalMethod = BootstrapResampling.describe(replicates: settings.bootstrap, seed: settings.seed)
        } else {
            (fidInterval, kidInterval, intervalMethod) = (nil, nil, nil)
        }
    }

    /// The metrics under fs-eval's JSON keys (jobs/ and the tests read these names).
    public var fields: [String: Any] {
        var out: [String: Any] = ["fid": fid, "kid": kid.mean, "kid_std": kid.std]
        if let classAccuracy { out["class_accuracy"] = classAccuracy }
        if let precisionRecall { (out["precision"], out["recall"]) = (precisionRecall.precision, precisionRecall.recall) }
        if let trajectoryMSE { out["trajectory_mse"] = trajectoryMSE }
        if let fidInterval, let kidInterval, let intervalMethod {
            out["fid_ci95"] = [fidInterval.low, fidInterval.high]
            out["kid_ci95"] = [kidInterval.low, kidInterval.high]
            out["interval"] = intervalMethod
        }
        return out
    }

    /// The first metric that is NaN or infinite, if any (nothing should be stored then).
    public var firstNonFinite: (name: String, value: Double)? {
        let checked: [(String, Double?)] = [("fid", fid), ("kid", kid.mean), ("kid_std", kid.std), ("class_accuracy", classAccuracy),
                                            ("trajectory_mse", trajectoryMSE), ("fid_ci95", fidInterval.map { $0.high - $0.low }),
                                            ("kid_ci95", kidInterval.map { $0.high - $0.low })]
        for (k, v) in checked { if let v, !v.isFinite { return (k, v) } }
        return nil
    }
}
