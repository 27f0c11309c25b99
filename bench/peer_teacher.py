"""PyTorch CPU peer of bench/teacher.sh (issue 4): the shipped teacher's training and sampling throughput.

    /root/venv/bin/python bench/peer_teacher.py [--threads 2] [--samples 512]

Workload, the same as the Swift side of bench/teacher.sh:
  train_images_per_second   the teacher's UNet config (models/teacher-mnist.json), batch 128: forward + MSE +
                            backward + AdamW step, best of NCHW and channels_last, median of --iters
  sample_*_images_per_second  --samples images from the shipped weights, Euler on the fixed shift-3 grid,
                            at 4 and 32 steps, w = 1 (1 UNet evaluation per step) and w = 1.5 (CFG: a conditional
                            and a null forward pass, 2 evaluations per step), batch 256
Progress on stderr, one JSON object on stdout.
"""
import argparse
import json
import os
import sys
import time

import torch
from safetensors.torch import load_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "tools", "golden"))
from reference_unet import UNet, sample  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_torch import bench_unet  # noqa: E402


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def fixed_sigmas(n, shift=3.0):
    s = torch.linspace(1, 0, n + 1, dtype=torch.float64)
    return (shift * s / (1 + (shift - 1) * s)).float()


def train_rate(channels, batch, layout, iters):
    # the same training step as bench/peer_torch.py (the fs-bench peer), on the teacher's channels
    return bench_unet(layout, channels, batch, 2, iters)["unet_train_images_per_second"]


def sample_rate(model, n, steps, cfg, batch):
    g = torch.Generator().manual_seed(5)
    noise = torch.randn(n, 1, 28, 28, generator=g)
    labels = torch.arange(n) % 10
    sig = fixed_sigmas(steps)
    t0 = time.perf_counter()
    with torch.no_grad():
        for i in range(0, n, batch):
            sample(model, noise[i:i + batch], labels[i:i + batch], sig, cfg)
    return n / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--samples", type=int, default=512)
    ap.add_argument("--weights", default=os.path.join(ROOT, "models", "teacher-mnist.safetensors"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    meta = json.load(open(os.path.splitext(args.weights)[0] + ".json"))
    channels = meta["config"]["channels"]
    load_before = os.getloadavg()
    out = {"implementation": "pytorch", "torch_version": torch.__version__, "threads": args.threads,
           "channels": channels}
    train = {}
    for layout in ("nchw", "channels_last"):
        log(f"train {channels} batch 128 {layout}")
        train[layout] = round(train_rate(channels, 128, layout, args.iters), 2)
    out["train_images_per_second"] = max(train.values())
    out["train_layouts"] = train
    model = UNet(channels)
    model.load_state_dict(load_file(args.weights), strict=True)
    model.eval()
    for steps in (4, 32):
        for cfg in (1.0, 1.5):
            key = f"sample_{steps}_steps_cfg_{cfg:g}_images_per_second".replace(".", "p")
            log(key)
            out[key] = round(sample_rate(model, args.samples, steps, cfg, 256), 2)
    out["load_average_before"] = [round(x, 2) for x in load_before]
    out["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
