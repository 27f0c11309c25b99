import ArgumentParser
import ToolSupport
import Train

/// The optimisation and the run: preset, length, batches, learning rate, EMA, checkpoints, resume.
struct TrainingOptions: ParsableArguments {
    @Flag(help: "Learning rate: a cosine from --lr down to 0 at --steps after the warm-up (default: constant).")
    var cosineDecay = false
    @Option(help: "EMA decay of the student's weights (default: the preset's, 0.995).") var emaDecay: Float?
    @Option(help: "Train until this step (default: the preset's).") var steps: Int?
    @Option(help: "Distillation batch size.") var batchSize: Int?
    @Option(help: "Fixed gradient chunks per batch (the unit of MPI ranks; preset 4).") var gradientChunks: Int?
    @Option(help: "Student learning rate (AdamW, warm-up then constant, or a cosine with --cosine-decay).") var lr: Float?
    @Option(help: "Checkpoint every K steps (and at the end).") var checkpointEvery: Int = 100
    @Option(help: "Seed of every draw (pairs, batches, discriminator head; default 0).") var seed: UInt64?
    @Option(help: "Preset: tiny (tests) or mnist (the pilot's settings; default).") var preset: String?
    @Flag(help: "Continue run RUN from its latest checkpoint (settings given with it must match the recorded ones).")
    var resume = false
    @Flag(help: "With --resume: apply settings that differ from the recorded ones, and record the change in the run.")
    var overrideConfig = false

    func validate() throws {
        try OptionCheck.float("--ema-decay", emaDecay, .range(0...1))
        try OptionCheck.float("--lr", lr, .positive)
        try OptionCheck.int("--checkpoint-every", checkpointEvery, 1...Int.max)
        try OptionCheck.int("--steps", steps, 1...Int.max)
        try OptionCheck.int("--batch-size", batchSize, 1...Int.max)
    }

    /// Sets the options given (for a new run the preset and seed are the config's origin, not set here).
    func apply(to c: inout DistillConfig, fresh: Bool) {
        if !fresh {
            if let preset { c.preset = preset }
            if let seed { c.seed = seed }
        }
        if cosineDecay { c.cosineDecay = true }
        if let emaDecay { c.emaDecay = emaDecay }
        if let steps { c.steps = steps }
        if let batchSize { c.batchSize = batchSize }
        if let gradientChunks { c.gradientChunks = gradientChunks }
        if let lr { c.learningRate = lr }
    }
}
