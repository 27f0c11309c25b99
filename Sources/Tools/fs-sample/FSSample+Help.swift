import ArgumentParser

extension FSSample {
    static let configuration = CommandConfiguration(
        commandName: "fs-sample",
        abstract: "Sample images from a checkpoint (Euler or Heun, fixed or diffusers schedule, CFG).",
        discussion: """
        Sample i starts from the noise of seed i (one seed per sample) and gets label i mod 10 by default,
        so its result depends only on its seed, label, the model and the settings, never on --batch-size.
        Defaults come from the checkpoint's metadata: --cfg its recommended_cfg (students record 1),
        --schedule/--shift its schedule and shift (else fixed, 3), --steps a student's segments (else 32).

        Outputs: a PNG grid (--png; one row per class when labels cycle), the intermediate states of the
        first samples (--trajectory-png; rows = samples, columns = time), a safetensors file with noise,
        labels (I64) and samples before clamping (--save-tensors; re-checked in PyTorch by
        tools/golden/check_export.py), and a sample_set artifact in the store (tensors samples F32,
        labels I64, seeds U64; metadata with steps, schedule, shift, cfg, sigmas, method and the
        checkpoint's hash) whose parent is the checkpoint. --print-schedule only prints the sigma grid.

        Partial trajectories (paper Table 1): --stop-sigma S ends the run at
        point S of the grid and outputs the states there. --init-tensors FILE
        starts from such states (at the file's last recorded sigma, or
        --start-sigma); --init-x0 FILE|mnist-test|mnist-train --start-sigma S
        starts from S*eps_i + (1-S)*x0_i, eps_i = sample i's seeded noise.
        Stopping at S and resuming from the saved states reproduces the
        uninterrupted run bit for bit. The sample set records the start (kind,
        sigma, file and its SHA-256, or the MNIST split) and the stop sigma.

        A .safetensors checkpoint with neither --store nor $FS_STORE stores
        nothing (no ./flowsteer.db appears). A NaN or infinite model output
        stops sampling with exit 5 naming the step and sigma, nothing written.
        --init-x0 mnist-* reads MNIST from $FS_DATA_DIR (holding mnist/ or the
        MNIST files), else from data/mnist above the current directory.

        Examples:
          fs-sample --store runs.db --checkpoint teacher --steps 32 \\
                    --seeds 0-99 --png teacher.png
          fs-sample --checkpoint models/student-flowsteer-4.safetensors \\
                    --seeds 900000-900099 --png grid.png
          fs-sample --checkpoint models/teacher-mnist.safetensors --steps 4 \\
                    --schedule diffusers --cfg 2 --seeds 0-9 \\
                    --trajectory-png path.png --save-tensors s.safetensors
          fs-sample --print-schedule --steps 4 --schedule diffusers --json
          fs-sample --checkpoint T --steps 32 --seeds 0-99 --stop-sigma 0.5 \\
                    --save-tensors s05.safetensors
          fs-sample --checkpoint T --steps 32 --seeds 0-99 \\
                    --init-tensors s05.safetensors
          fs-sample --checkpoint T --steps 32 --seeds 0-99 --start-sigma 0.5 \\
                    --init-x0 mnist-train
        """)
}
