import ArgumentParser

extension FSDistill {
    static let configuration = CommandConfiguration(
        commandName: "fs-distill",
        abstract: "Distill the teacher into a guidance-free few-step student (ReFlow, PeRFlow, FlowSteer, PCM).",
        discussion: """
        The student starts as a copy of the teacher's EMA weights, takes the label
        as input and samples with K Euler steps on the --schedule grid without
        guidance (recommended_cfg 1).

        Methods:
          reflow     one segment 1 -> 0: (noise, teacher endpoint) pairs from
                     --bank.
          perflow    PeRFlow as published: starts sigma_k*eps + (1-sigma_k)*x0
                     from real MNIST images; the teacher (w ~ U[--cfg-range])
                     solves each window with --substeps Euler steps, in a pool
                     of --pairs pairs made at start (or --online, every step).
          flowsteer  PeRFlow plus toggles: --ota (starts on the teacher's
                     authentic trajectory, from --bank, or --online solved from
                     noise during training); --adversarial (a discriminator
                     built from the teacher, --disc: by default trainable heads
                     on the frozen teacher's features at every depth (LADD), or
                     the paper's encoder, the teacher's encoder and middle block
                     trained whole + one head; hinge loss; generator terms
                     --lambda-adv * -D(fake) and --lambda-fm * feature
                     matching, either may be 0).
          pcm        phased consistency (PCM, Wang et al. 2024): K phases on
                     the student's grid; x_t from real images at a teacher
                     sub-grid point t, one teacher Euler step (--substeps per
                     phase, CFG w ~ U[--cfg-range]) to t'; loss
                     |f(x_t, t) - f_ema(x_t', t')|^2 with f(x, t) = x +
                     (phase end - t) v; target = the student's EMA
                     (--ema-decay).

        LoRA students (--lora R): only adapters on the teacher's linears train
        (PEFT's LoRA: W + (alpha/R) B A, B zero at the start, so step 0 is the
        teacher); checkpoints hold the adapters and name the teacher by hash.
        fs-sample and fs-eval merge them with the teacher; fs-store export
        writes the merged model or, with --adapters-only, PEFT's adapter file.

        Checkpoints (student weights, EMA, AdamW; discriminator and its AdamW;
        step) are stored every --checkpoint-every steps as RUN@STEP. --resume
        continues a killed run and ends bit-identical to an uninterrupted run
        with the same seed, whatever --threads or MPI ranks either used (a run without
        checkpoints starts fresh). A NaN or exploding loss exits with code 5
        and keeps the last good checkpoint. Metrics per step: loss_dist,
        loss_adv, loss_fm, loss_d, d_acc, d_real, d_fake, lr, grad_norm,
        loss_total.

        SIGINT/SIGTERM stop after the current step with a checkpoint, the run
        marked interrupted (exit 130/143). --resume refuses options that differ
        from the recorded run (exit 2, each named with its recorded value)
        unless --override-config, which applies them and records the change.
        MNIST (PeRFlow starts, --adv-real data) is read from $FS_DATA_DIR, else
        from data/mnist above the current directory or the executable.

        Examples:
          fs-distill --run perflow-diff --teacher teacher --method perflow \\
                     --schedule diffusers
          fs-distill --run ota --teacher teacher --bank bank-k4 \\
                     --method flowsteer --ota
          fs-distill --run full --teacher teacher --bank bank-k4 \\
                     --method flowsteer --ota --adversarial \\
                     --lambda-adv 0.05 --lambda-fm 0.1 --adv-fake step
          fs-distill --run full --steps 800 --resume
          fs-distill --run lora4 --teacher teacher --method flowsteer --ota \\
                     --online --lora 4 --lora-alpha 8
        """)
}
