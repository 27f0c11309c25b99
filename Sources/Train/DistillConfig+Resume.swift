import NN

/// LoRA settings given on --resume that differ from the run's (a usage error, exit 2 in the tools): the
/// adapters are the run's state, so a full fine-tuning run cannot become LoRA, nor rank, alpha or targets change.
public enum LoRAResumeConflict: Error, Sendable {
    case fullFineTuning
    case differs(recorded: LoRAConfig)
}

extension DistillConfig {
    /// Checks a requested LoRA (`alpha`/`targets` nil: the recorded ones) against the recorded `lora`.
    public func checkLoRAResume(rank: Int, alpha: Double?, targets: [String]?) throws {
        guard let r = lora else { throw LoRAResumeConflict.fullFineTuning }
        if rank != r.rank || (alpha ?? r.alpha) != r.alpha || (targets ?? r.targets) != r.targets {
            throw LoRAResumeConflict.differs(recorded: r)
        }
    }

    /// Networks a distillation step runs forward and backward per sample: student, teacher, discriminator
    /// (the memory estimate's unit).
    public static let networkPasses = 3.0

    /// Adversarial samples per step, on top of the distillation batch (0 without --adversarial).
    public var adversarialSamplesPerStep: Int { adversarial ? advBatchSize : 0 }

    /// Bytes of a PeRFlow pool of `pairs` pairs, three states of `sampleShape` each (F32).
    public static func poolBytes(pairs: Int, sampleShape: [Int]) -> Double {
        Double(pairs) * Double(sampleShape.reduce(1, *)) * 4 * 3
    }
}
