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

    /// A recorded config with the defaults it was made under named: a run recorded without a discriminator kind
    /// was made with the encoder (the default until 2026-12-07, when the tools' default became the frozen-teacher
    /// heads), so a resume keeps that discriminator and `--disc encoder` repeats the recorded config.
    public func namingRecordedDefaults() -> DistillConfig {
        var c = self
        if c.adversarial && c.disc == nil { c.disc = .encoder }
        return c
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
