import ArgumentParser
import Foundation
import ToolSupport

@main
struct FSEval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fs-eval",
        abstract: "FID, KID, class accuracy and trajectory MSE from the embedded feature network (no Python).",
        discussion: """
        The default subcommand generates --num-samples class-balanced samples (seed X+i, label i mod 10)
        from a checkpoint, or reads an existing sample set (--samples REF), and compares their features
        with MNIST reference features cached in the store (keyed by the feature network's checksum).
        Results are stored as an eval_result artifact whose parent is the checkpoint or sample set,
        and as metrics of run eval/<model>. Samples stream through the feature
        network in chunks; a --num-samples whose features cannot fit in memory
        is refused up front (exit 2, saying what fits). A student's recorded
        grid is its default. MNIST is read from $FS_DATA_DIR (holding mnist/ or
        the MNIST files), else from data/mnist above the current directory.

        Examples:
          fs-eval --store runs.db --checkpoint teacher --steps 32 \\
                  --num-samples 10000 --seed 0 --json
          fs-eval --store runs.db --checkpoint student --teacher teacher --json
          fs-eval stats --mnist test --save-stats test.safetensors
          fs-eval fd a.safetensors b.safetensors --json
          fs-eval accuracy --mnist test --json
        """,
        subcommands: [Evaluate.self, Stats.self, FD.self, Accuracy.self],
        defaultSubcommand: Evaluate.self)

    static func main() { runAsTool() }
}
