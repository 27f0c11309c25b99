"""Golden pool3 features of pytorch-fid's own InceptionV3 on random weights, for
Tests/EvalTests/InceptionParityTests.swift.

    /work/venv-fid/bin/python tools/golden/inception_fixture.py      # ~1 min, one thread

The full weights (95 MB) are not committed. Every conv weight comes from a deterministic rule
(fid_inception_model.rule_conv_weight; Swift: InceptionWeightRule) that both sides compute bit for
bit; only the BatchNorm tensors are stored. Random convolutions make the deep layers either explode or
collapse, and features that ignore their input would make a parity test that cannot fail, so the
BatchNorm statistics are calibrated on images first: each BN's running mean and variance are set
to the batch statistics of its input on 32 calibration images (one forward pass, layer by layer;
the variance with a floor of a quarter of the layer's mean variance), and gamma/beta are drawn
around 1 and 0. Every layer then sees unit-scale, image-dependent inputs.

Writes Tests/EvalTests/Fixtures/inception_fixture.safetensors:
  NAME.bn.{weight,bias,running_mean,running_var}  for the 94 BasicConv2d (pytorch-fid's key names)
  inputs_gray [12, 1, 28, 28], inputs_rgb [4, 3, 32, 32]   images in [0, 1] (pytorch-fid's range)
  features [16, 2048]   pytorch-fid's pool3 output: gray (repeated to 3 channels) then rgb
metadata: seed (of the conv weight rule), torch/torchvision/pytorch-fid versions.
It also prints how far two wrong input paths (no [-1, 1] scaling; nearest instead of bilinear
resize) land from the right one, which the Swift test checks too.
"""
import copy
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fid_inception_model as fim  # noqa: E402

SEED = 20_2026
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "EvalTests", "Fixtures", "inception_fixture.safetensors")

# pytorch-fid's InceptionV3 wraps the Inception3 modules in four Sequentials; their positions.
BLOCK_NAMES = {
    "blocks.0.0": "Conv2d_1a_3x3", "blocks.0.1": "Conv2d_2a_3x3", "blocks.0.2": "Conv2d_2b_3x3",
    "blocks.1.0": "Conv2d_3b_1x1", "blocks.1.1": "Conv2d_4a_3x3",
    "blocks.2.0": "Mixed_5b", "blocks.2.1": "Mixed_5c", "blocks.2.2": "Mixed_5d", "blocks.2.3": "Mixed_6a",
    "blocks.2.4": "Mixed_6b", "blocks.2.5": "Mixed_6c", "blocks.2.6": "Mixed_6d", "blocks.2.7": "Mixed_6e",
    "blocks.3.0": "Mixed_7a", "blocks.3.1": "Mixed_7b", "blocks.3.2": "Mixed_7c",
}


def fid_key(model_key):
    parts = model_key.split(".")
    return BLOCK_NAMES[".".join(parts[:3])] + "." + ".".join(parts[3:])


def strokes(rng, n, channels, size):
    """Digit-like images in [0, 1]: a few thick random strokes on black, blurred a little."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    out = np.zeros((n, channels, size, size))
    for i in range(n):
        for c in range(channels):
            img = np.zeros((size, size))
            for _ in range(rng.integers(2, 5)):
                (y0, x0), (y1, x1) = rng.uniform(0.2 * size, 0.8 * size, size=(2, 2))
                for t in np.linspace(0, 1, 24):
                    cy, cx = y0 + t * (y1 - y0), x0 + t * (x1 - x0)
                    img = np.maximum(img, np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (0.06 * size) ** 2)))
            out[i, c] = img if c == 0 or channels == 1 else img * rng.uniform(0.3, 1.0)
    return np.clip(out, 0, 1).astype(np.float32)


def random_state_dict(rng):
    layout = fim.fid_state_dict_layout()
    sd = {}
    for key, shape in layout:
        name, _, leaf = key.rpartition(".")
        if key.endswith(".conv.weight"):
            sd[key] = torch.from_numpy(fim.rule_conv_weight(key[: -len(".conv.weight")], shape, SEED))
        elif leaf == "num_batches_tracked":
            sd[key] = torch.tensor(0)
        elif leaf == "weight" and name.endswith(".bn"):
            sd[key] = torch.from_numpy(rng.uniform(0.6, 1.4, size=shape).astype(np.float32))
        elif leaf == "bias" and name.endswith(".bn"):
            sd[key] = torch.from_numpy(rng.uniform(-0.4, 0.4, size=shape).astype(np.float32))
        elif leaf == "running_mean":
            sd[key] = torch.zeros(shape)
        elif leaf == "running_var":
            sd[key] = torch.ones(shape)
        else:  # fc: unused by pool3
            sd[key] = torch.from_numpy((rng.standard_normal(shape) * 0.01).astype(np.float32))
    return sd


def calibrate(model, images):
    """Sets every BatchNorm's running statistics to those of its input on `images`, in forward order."""
    def hook(bn, args):
        x = args[0]
        bn.running_mean.copy_(x.mean(dim=(0, 2, 3)))
        var = x.var(dim=(0, 2, 3), unbiased=False)
        # A floor keeps near-constant channels (black background) from amplifying small input changes
        # layer after layer: without it a new image lands 100x away and float32 rounding grows as much.
        bn.running_var.copy_(var + 0.25 * var.mean())
    handles = [m.register_forward_pre_hook(hook) for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        model(images)
    for h in handles:
        h.remove()


def rel(a, b):
    return float(((a - b).norm(dim=1) / b.norm(dim=1)).max())


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(SEED)
    model = fim.fid_model(random_state_dict(rng))
    calibration = np.concatenate([strokes(rng, 24, 1, 28).repeat(3, axis=1), strokes(rng, 8, 3, 28)])
    calibrate(model, torch.from_numpy(calibration))
    gray, rgb = strokes(rng, 12, 1, 28), strokes(rng, 4, 3, 32)
    with torch.no_grad():
        fg = model(torch.from_numpy(gray).repeat(1, 3, 1, 1))[0].flatten(1)
        fr = model(torch.from_numpy(rgb))[0].flatten(1)
        features = torch.cat([fg, fr])
        # Wrong input paths the Swift test must tell apart from the right one.
        g3 = torch.from_numpy(gray).repeat(1, 3, 1, 1)
        model.normalize_input = False
        unscaled = model(g3)[0].flatten(1)
        model.normalize_input = True
        nearest = model(F.interpolate(g3, size=(299, 299), mode="nearest"))[0].flatten(1)
        model64 = copy.deepcopy(model).double()
        f64 = torch.cat([model64(torch.from_numpy(gray).double().repeat(1, 3, 1, 1))[0].flatten(1),
                         model64(torch.from_numpy(rgb).double())[0].flatten(1)])
    print(f"float32 vs float64 pytorch-fid: {rel(features.double(), f64):.2e} (the rounding floor of any parity)")
    print(f"features: mean {features.mean():.4f}, std over images {features.std(dim=0).mean():.4f}, "
          f"mean per image {features.norm(dim=1).mean():.2f}")
    print(f"relative distance (max over images, L2): no [-1,1] scaling {rel(unscaled, fg):.4f}, "
          f"nearest resize {rel(nearest, fg):.4f}, image 0 vs image 1 {rel(fg[:1], fg[1:2]):.4f}")

    from safetensors.numpy import save_file
    import pytorch_fid
    import torchvision
    tensors = {fid_key(k): v.numpy().copy() for k, v in model.state_dict().items()
               if ".bn." in k and not k.endswith("num_batches_tracked")}
    tensors.update({"inputs_gray": gray, "inputs_rgb": rgb, "features": features.numpy().copy()})
    meta = {"format": "pt", "seed": str(SEED), "rule": "fid_inception_model.rule_conv_weight",
            "torch": torch.__version__, "torchvision": torchvision.__version__, "pytorch_fid": pytorch_fid.__version__}
    save_file(tensors, OUT, metadata=meta)
    print(f"wrote {os.path.normpath(OUT)} ({os.path.getsize(OUT)} bytes, {len(tensors)} tensors)")


if __name__ == "__main__":
    main()
