"""Golden sigma schedules from the real diffusers FlowMatchEulerDiscreteScheduler.

Writes Tests/TrainTests/Fixtures/schedules.json, which Tests/TrainTests/ScheduleTests.swift
compares against Sources/Train/Schedules.swift. Run from the repository root with a Python that has
diffusers, torch and numpy:

    /root/venv/bin/python tools/golden/schedule_fixture.py

Each case records, for N inference steps and shift s:
  diffusers_sigmas / diffusers_timesteps: scheduler.sigmas / scheduler.timesteps after
      FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=s).set_timesteps(N)
      (float32, N+1 sigmas ending in the appended 0, N timesteps);
  fixed_sigmas: FlowSteer's grid, linspace(1, 0, N+1) shifted once, computed in float64 and rounded
      to float32 once (the definition Schedules.swift implements);
  fixed_via_diffusers_sigmas: the same grid obtained from diffusers by passing
      sigmas=linspace(1, 1/N, N) (diffusers shifts them once in float32 and appends 0), to show the
      two agree up to float32 rounding.
Floats are written with repr() of the float32 value widened to float64, so they round-trip exactly.
"""
import json
import os

import diffusers
import numpy as np
import torch
from diffusers import FlowMatchEulerDiscreteScheduler

STEPS = [1, 2, 3, 4, 8, 28]
SHIFTS = [1.0, 3.0]


def f32_list(values):
    return [float(np.float32(v)) for v in np.asarray(values, dtype=np.float32).tolist()]


def fixed_grid(n, s):
    sig = np.linspace(1.0, 0.0, n + 1)  # float64
    sig = s * sig / (1 + (s - 1) * sig)
    return f32_list(sig)


def main():
    cases = []
    for s in SHIFTS:
        for n in STEPS:
            sched = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=s)
            sched.set_timesteps(n)
            assert sched.sigmas.dtype == torch.float32 and sched.timesteps.dtype == torch.float32
            via = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=s)
            via.set_timesteps(sigmas=np.linspace(1.0, 1.0 / n, n))
            cases.append({
                "steps": n,
                "shift": s,
                "diffusers_sigmas": f32_list(sched.sigmas.numpy()),
                "diffusers_timesteps": f32_list(sched.timesteps.numpy()),
                "fixed_sigmas": fixed_grid(n, s),
                "fixed_via_diffusers_sigmas": f32_list(via.sigmas.numpy()),
            })
    out = {
        "generator": "tools/golden/schedule_fixture.py",
        "diffusers_version": diffusers.__version__,
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "cases": cases,
    }
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.path.join(root, "Tests", "TrainTests", "Fixtures", "schedules.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {path}: {len(cases)} cases")


if __name__ == "__main__":
    main()
