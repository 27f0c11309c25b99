import ArgumentParser
import Foundation
import ToolSupport

@main
struct FSEval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fs-eval",
        abstract: "FID, KID, class accuracy and trajectory MSE from embedded or trained feature networks (no Python).",
        discussion: """
        The default subcommand generates --num-samples class-balanced samples
        (seed X+i, label i mod classes) from a checkpoint, or reads a sample set
        (--samples REF), and compares their features with those of the test split
        of the model's dataset (--data/--split override), cached in the store,
        measured by that dataset's feature network (--features overrides).
        FID and KID come with 95% intervals from a seeded bootstrap over the
        samples (--bootstrap B, default 200; 0 = none; docs/eval.md says what
        they cover: not the training seed).
        Results are stored as an eval_result artifact whose parent is the checkpoint
        or sample set, and as metrics of run eval/<model>; a .safetensors checkpoint
        needs no store (without --store, $FS_STORE or ./flowsteer.db nothing is
        stored). Samples stream through the feature network in chunks; a --num-samples whose features cannot fit in memory
        is refused up front (exit 2, saying what fits). A student's recorded
        grid is its default. MNIST and Fashion-MNIST are read from $FS_DATA_DIR
        (holding mnist/ or fashion-mnist/), else from data/<name> above the current
        directory, else (Fashion-MNIST) Debian's /usr/share/datasets.

        Examples:
          fs-eval --store runs.db --checkpoint teacher --steps 32 \\
                  --num-samples 10000 --seed 0 --json
          fs-eval --store runs.db --checkpoint student --teacher teacher --json
          fs-eval --checkpoint models/student-flowsteer-4.safetensors --json
          fs-eval stats --data mnist --split test --save-stats test.safetensors
          fs-eval fd a.safetensors b.safetensors --json
          fs-eval trajectory-mse student.safetensors teacher.safetensors
          fs-eval accuracy --data fashion-mnist --split test --json
          fs-eval featnet train --store runs.db --data fashion-mnist
        """,
        subcommands: [Evaluate.self, Stats.self, FD.self, Accuracy.self, TrajectoryMSE.self, Featnet.self],
        defaultSubcommand: Evaluate.self)

    static func main() { runAsTool() }
}
