"""PyTorch CPU peer of `fs-bench` (issue 2): the same workload, same thread count, one JSON object.

    /root/venv/bin/python bench/peer_torch.py [--threads 2] [--iters 5] [--warmup 2]

Workload: the reference velocity UNet (tools/golden/reference_unet.py) with channels [32, 64, 64],
batch 128, 28x28, class labels (0..10), sigma ~ U(0,1), x_sigma = (1-sigma) x0 + sigma eps, target v = eps - x0.
  unet_train_images_per_second   forward + MSE + backward + AdamW step (lr 1e-4, wd 0.01, PyTorch defaults)
  unet_forward_images_per_second forward only, under torch.no_grad()
Each is measured in NCHW and channels_last; the top-level keys report the better layout, the per-layout
numbers are under "layouts". Also conv2d 3x3 32->32 pad 1 on [128,32,28,28] (forward; backward = grad of
input + weight + bias given grad_out), and sgemm GFLOP/s for 1024^3 (torch.mm).
Timings are medians over --iters after --warmup iterations. Progress goes to stderr, JSON to stdout.

    /root/venv/bin/python bench/peer_torch.py --model dit [--threads 2] [--batch 64]

DiT workload (tools/golden/reference_dit.py; the same as `fs-bench --model dit`): 28x28x1, patch 2, hidden 192,
depth 6, heads 3, mlp ratio 4, 10 classes, batch 64, adaLN and final layer N(0, 0.02^2) instead of zero:
  dit_train_images_per_second    forward + MSE + backward + clip_grad_norm_(1) + AdamW (lr 1e-4, wd 0.01)
  dit_forward_images_per_second  forward only, under torch.no_grad()
measured with F.scaled_dot_product_attention (timm's default) and the explicit softmax path; the top-level
keys report the faster, per-variant numbers are under "attention".
With --autocast-bf16 both run under torch.autocast("cpu", dtype=torch.bfloat16) (PyTorch's mixed-precision
CPU mode: bf16 matrix products, fp32 weights and optimizer state), the peer of `fs-bench --precision bf16`;
the same keys are reported and "precision" says "bf16-autocast" (else "fp32").
"""
import contextlib
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "golden"))
from reference_unet import UNet  # noqa: E402


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def median_time(fn, warmup, iters):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), ts


def bench_unet(layout, channels, batch, warmup, iters):
    torch.manual_seed(0)
    mf = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    model = UNet(channels).to(memory_format=mf)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
    g = torch.Generator().manual_seed(1)
    x0 = (torch.rand(batch, 1, 28, 28, generator=g) * 2 - 1)
    eps = torch.randn(batch, 1, 28, 28, generator=g)
    sigma = torch.rand(batch, generator=g)
    labels = torch.randint(0, 11, (batch,), generator=g)
    s = sigma[:, None, None, None]
    xt = ((1 - s) * x0 + s * eps).contiguous(memory_format=mf)
    target = (eps - x0).contiguous(memory_format=mf)

    def train_step():
        opt.zero_grad(set_to_none=True)
        v = model(xt, sigma, labels)
        loss = F.mse_loss(v, target)
        loss.backward()
        opt.step()

    def forward():
        with torch.no_grad():
            model(xt, sigma, labels)

    model.train()
    t_train, ts_train = median_time(train_step, warmup, iters)
    t_fwd, ts_fwd = median_time(forward, warmup, iters + 2)
    res = {"unet_train_images_per_second": round(batch / t_train, 2),
           "unet_forward_images_per_second": round(batch / t_fwd, 2),
           "unet_train_step_ms": round(t_train * 1e3, 2), "unet_forward_ms": round(t_fwd * 1e3, 2),
           "unet_train_step_ms_all": [round(t * 1e3, 1) for t in ts_train],
           "unet_forward_ms_all": [round(t * 1e3, 1) for t in ts_fwd]}
    log(f"  {layout}: train {res['unet_train_images_per_second']} img/s, forward {res['unet_forward_images_per_second']} img/s")
    return res


def bench_conv(layout, warmup, iters):
    mf = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    g = torch.Generator().manual_seed(2)
    x = torch.randn(128, 32, 28, 28, generator=g).contiguous(memory_format=mf).requires_grad_(True)
    w = (torch.randn(32, 32, 3, 3, generator=g) * 0.05).contiguous(memory_format=mf).requires_grad_(True)
    b = torch.zeros(32, requires_grad=True)
    go = torch.randn(128, 32, 28, 28, generator=g).contiguous(memory_format=mf)

    def fwd():
        with torch.no_grad():
            F.conv2d(x, w, b, padding=1)

    y = F.conv2d(x, w, b, padding=1)

    def bwd():
        torch.autograd.grad(y, [x, w, b], go, retain_graph=True)

    tf, _ = median_time(fwd, warmup, iters + 2)
    tb, _ = median_time(bwd, warmup, iters + 2)
    flops = 2 * 128 * 28 * 28 * 32 * 32 * 9
    return {"conv2d_forward_ms": round(tf * 1e3, 3), "conv2d_backward_ms": round(tb * 1e3, 3),
            "conv2d_forward_gflops": round(flops / tf / 1e9, 1), "conv2d_backward_gflops": round(2 * flops / tb / 1e9, 1)}


def bench_latency(channels, batches, warmup, iters):
    """Forward (no_grad) milliseconds per call at each batch size, per layout and the better one."""
    res = {}
    for layout in ("nchw", "channels_last"):
        torch.manual_seed(0)
        mf = torch.channels_last if layout == "channels_last" else torch.contiguous_format
        model = UNet(channels).to(memory_format=mf).eval()
        g = torch.Generator().manual_seed(5)
        for b in batches:
            x = torch.randn(b, 1, 28, 28, generator=g).contiguous(memory_format=mf)
            sigma = torch.rand(b, generator=g)
            labels = torch.randint(0, 11, (b,), generator=g)

            def fwd():
                with torch.no_grad():
                    model(x, sigma, labels)

            t, _ = median_time(fwd, warmup, iters + 2)
            res.setdefault(layout, {})[str(b)] = round(t * 1e3, 3)
            log(f"  latency {layout} batch {b}: {t * 1e3:.2f} ms")
    best = {b: min(res[layout][b] for layout in res) for b in res["nchw"]}
    return best, res


def bench_sgemm(warmup, iters, n=1024):
    g = torch.Generator().manual_seed(3)
    a = torch.randn(n, n, generator=g)
    b = torch.randn(n, n, generator=g)
    c = torch.empty(n, n)
    t, _ = median_time(lambda: torch.mm(a, b, out=c), warmup + 2, iters + 6)
    return round(2 * n ** 3 / t / 1e9, 1)


def bench_dit(fused, batch, warmup, iters, hidden=192, depth=6, heads=3, patch=2, autocast=False):
    from reference_dit import DiT
    torch.manual_seed(0)
    model = DiT(input_size=28, patch_size=patch, in_channels=1, hidden_size=hidden, depth=depth, num_heads=heads,
                mlp_ratio=4.0, num_classes=10, class_dropout_prob=0.1, fused_attn=fused)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "adaLN_modulation" in name or name.startswith("final_layer"):
                p.normal_(0, 0.02)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4, weight_decay=0.01)
    g = torch.Generator().manual_seed(1)
    x0 = torch.randn(batch, 1, 28, 28, generator=g)
    eps = torch.randn(batch, 1, 28, 28, generator=g)
    sigma = torch.rand(batch, generator=g)
    labels = torch.arange(batch) % 11
    s = sigma[:, None, None, None]
    xt = (1 - s) * x0 + s * eps
    target = eps - x0

    # Autocast covers the forward only (PyTorch's recipe): the backward follows the forward's dtypes.
    def mixed():
        return torch.autocast("cpu", dtype=torch.bfloat16) if autocast else contextlib.nullcontext()

    def train_step():
        opt.zero_grad(set_to_none=True)
        with mixed():
            loss = F.mse_loss(model(xt, sigma, labels).float(), target)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    def forward():
        with torch.no_grad(), mixed():
            model(xt, sigma, labels)

    t_train, ts_train = median_time(train_step, warmup, iters)
    t_fwd, ts_fwd = median_time(forward, warmup, iters)
    res = {"dit_train_images_per_second": round(batch / t_train, 2),
           "dit_forward_images_per_second": round(batch / t_fwd, 2),
           "dit_train_step_ms": round(t_train * 1e3, 1), "dit_forward_ms": round(t_fwd * 1e3, 1),
           "dit_train_step_ms_all": [round(t * 1e3, 1) for t in ts_train],
           "dit_forward_ms_all": [round(t * 1e3, 1) for t in ts_fwd]}
    log(f"  dit ({'sdpa' if fused else 'explicit'} attention): train {res['dit_train_images_per_second']} img/s, "
        f"forward {res['dit_forward_images_per_second']} img/s")
    return res


def main_dit(args):
    load_before = os.getloadavg()
    t_start = time.time()
    variants = {}
    for name, fused in (("sdpa", True), ("explicit", False)):
        log(f"dit batch {args.batch} {name} attention ({args.threads} threads)")
        variants[name] = bench_dit(fused, args.batch, args.warmup, args.iters, autocast=args.autocast_bf16)
    bt = max(variants, key=lambda k: variants[k]["dit_train_images_per_second"])
    bf = max(variants, key=lambda k: variants[k]["dit_forward_images_per_second"])
    out = {"implementation": "pytorch", "torch_version": torch.__version__, "threads": args.threads,
           "batch": args.batch, "model": "dit", "precision": "bf16-autocast" if args.autocast_bf16 else "fp32",
           "dit_train_images_per_second": variants[bt]["dit_train_images_per_second"],
           "dit_forward_images_per_second": variants[bf]["dit_forward_images_per_second"],
           "best_attention_train": bt, "best_attention_forward": bf, "attention": variants,
           "iters": args.iters, "warmup": args.warmup,
           "load_average_before": [round(x, 2) for x in load_before],
           "load_average_after": [round(x, 2) for x in os.getloadavg()],
           "wall_seconds": round(time.time() - t_start, 1)}
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--batch", type=int, default=None, help="default 128 (unet), 64 (dit)")
    ap.add_argument("--channels", default="32,64,64")
    ap.add_argument("--model", choices=("unet", "dit"), default="unet")
    ap.add_argument("--autocast-bf16", action="store_true",
                    help="DiT only: run under torch.autocast(\"cpu\", dtype=torch.bfloat16)")
    ap.add_argument("--latency", action="store_true",
                    help="only forward milliseconds at batch 1, 8, 64, 256 (fs-bench --only latency)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    if args.batch is None:
        args.batch = 64 if args.model == "dit" else 128
    if args.autocast_bf16 and args.model != "dit":
        ap.error("--autocast-bf16 is for --model dit")
    if args.model == "dit":
        main_dit(args)
        return
    channels = [int(c) for c in args.channels.split(",")]
    if args.latency:
        best, layouts = bench_latency(channels, [1, 8, 64, 256], args.warmup, args.iters)
        print(json.dumps({"implementation": "pytorch", "torch_version": torch.__version__, "threads": args.threads,
                          "channels": channels, "forward_latency_ms": best, "layouts": layouts}))
        return
    load_before = os.getloadavg()
    t_start = time.time()

    log(f"sgemm 1024^3 ({args.threads} threads)")
    sgemm = bench_sgemm(args.warmup, args.iters)
    conv = {}
    for layout in ("nchw", "channels_last"):
        log(f"conv2d {layout}")
        conv[layout] = bench_conv(layout, args.warmup, args.iters)
    layouts = {}
    for layout in ("nchw", "channels_last"):
        log(f"unet {channels} batch {args.batch} {layout}")
        layouts[layout] = bench_unet(layout, channels, args.batch, args.warmup, args.iters)
        layouts[layout].update({f"{k}": v for k, v in conv[layout].items()})

    best_train = max(layouts, key=lambda k: layouts[k]["unet_train_images_per_second"])
    best_fwd = max(layouts, key=lambda k: layouts[k]["unet_forward_images_per_second"])
    best_conv_f = min(conv, key=lambda k: conv[k]["conv2d_forward_ms"])
    best_conv_b = min(conv, key=lambda k: conv[k]["conv2d_backward_ms"])
    out = {
        "implementation": "pytorch",
        "torch_version": torch.__version__,
        "threads": args.threads,
        "batch": args.batch,
        "channels": channels,
        "sgemm_gflops": sgemm,
        "conv2d_forward_ms": conv[best_conv_f]["conv2d_forward_ms"],
        "conv2d_backward_ms": conv[best_conv_b]["conv2d_backward_ms"],
        "unet_train_images_per_second": layouts[best_train]["unet_train_images_per_second"],
        "unet_forward_images_per_second": layouts[best_fwd]["unet_forward_images_per_second"],
        "best_layout_train": best_train,
        "best_layout_forward": best_fwd,
        "layouts": layouts,
        "iters": args.iters, "warmup": args.warmup,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "wall_seconds": round(time.time() - t_start, 1),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
