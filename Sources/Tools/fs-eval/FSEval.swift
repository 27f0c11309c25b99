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
        and as metrics of run eval/<model>.

        Examples:
          fs-eval --store runs.db --checkpoint teacher --steps 32 --schedule fixed --num-samples 10000 --seed 0 --json
          fs-eval --store runs.db --checkpoint student --teacher teacher --json      # adds trajectory_mse
          fs-eval stats --data mnist --split test --save-stats test.safetensors
          fs-eval fd a.safetensors b.safetensors --json
          fs-eval accuracy --data fashion-mnist --split test --json
          fs-eval featnet train --store runs.db --data fashion-mnist
        """,
        subcommands: [Evaluate.self, Stats.self, FD.self, Accuracy.self, Featnet.self],
        defaultSubcommand: Evaluate.self)

    static func main() { runAsTool() }
}
