import ArgumentParser

extension FSRollout {
    static let configuration = CommandConfiguration(
        commandName: "fs-rollout",
        abstract: "Store the teacher's authentic ODE trajectories (K+1 boundary states per sample) as a trajectory bank.",
        discussion: """
        Sample i of the seed list starts from the noise of its seed s (Tensor.perSampleNoise), gets label
        s mod 10 and a guidance scale w ~ U[LO, HI] drawn from streamSeed(s, guidance) (exactly LO when
        LO == HI). The teacher's probability-flow ODE is solved with Euler on the student grid (--segments K
        of --schedule/--shift) with every segment split into --substeps S sub-steps (K*S steps, 2 network
        evaluations per step when w != 1); the K+1 states at the segment boundaries are stored, state 0
        being the noise and state K the final sample. A sample's row depends only on its seed, the teacher
        and these settings, never on --batch-size, --threads or --shard.

        --cfg-range defaults to the teacher's recommended_cfg +- 0.5 with the lower end clamped to 1
        (recommended_cfg 1, or none recorded, gives [1, 1.5]).

        The bank is committed batch by batch (a kill loses at most one batch); --resume reopens the open bank
        and fills in only the missing samples, then finalizes it (content hash). Without --resume an
        existing bank of the same name is a usage error (exit 2). SIGINT/SIGTERM finish the current batch, mark
        the run interrupted and exit 130/143; --resume continues.

        Job arrays: --shard i/n takes the i-th of n contiguous parts of the seed list; rows keep their index
        in the whole list and the bank's config is the same for every shard, so shard stores merge into one
        bank with `fs-store merge`. A store reference for --teacher is resolved in --teacher-store (default:
        --store) and the teacher artifact is copied into --store, so the bank's lineage survives the merge.

        Examples:
          fs-rollout --store runs.db --teacher teacher --name bank-k4 --num 10000
          fs-rollout --store shard-$i.db --teacher-store runs.db \\
                     --teacher teacher --name bank-k4 \\
                     --seeds 0-49999 --shard $i/8 --resume
          fs-store merge --store runs.db shard-*.db
        """)
}
