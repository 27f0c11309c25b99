import ArgumentParser
import Datasets
import Train

extension FSTrain {
    static let configuration = CommandConfiguration(
        commandName: "fs-train",
        abstract: "Train the class-conditional flow-matching teacher (UNet or DiT) on an image dataset (default MNIST).",
        discussion: """
        Checkpoints (weights, EMA, AdamW moments, step) go into the artifact store every
        --checkpoint-every steps and at the end; --resume continues a killed run and ends
        bit-identical to an uninterrupted one with the same seed (at any --threads, and
        under mpirun/srun with any number of ranks: docs/operations.md, data-parallel training).
        Presets: \(TeacherTrainingConfig.presetNames.joined(separator: ", ")).
        --data takes \(DatasetSpec.help); the model's input channels and
        class count follow the data, and the run records the dataset's SHA-256 (a resumed
        run re-reads it and refuses different images).
        SIGINT/SIGTERM stop at the next step with a checkpoint, the run marked
        interrupted (exit 130/143). --resume refuses --lr, --batch-size or --seed
        values that differ from the recorded ones unless --override-config.
        MNIST and Fashion-MNIST are read from $FS_DATA_DIR (holding mnist/ or
        fashion-mnist/), else from data/<name> above the current directory or the
        executable, else (Fashion-MNIST) Debian's /usr/share/datasets.

        Examples:
          fs-train --store runs.db --run teacher --preset mnist --steps 4000 \\
                   --checkpoint-every 250 --seed 0
          fs-train --store runs.db --run teacher --steps 4000 --resume
          fs-train --store runs.db --run fashion --data fashion-mnist --steps 4000
        """)
}
