"""pytorch-fid's own InceptionV3, built without its weight download, and the deterministic weight rule
that Tests/EvalTests/InceptionWeightRule.swift implements bit for bit.

Needs a venv with torch, torchvision, pytorch-fid and safetensors, kept apart from the one for the
other golden scripts (installing torchvision replaces torch there):

    python3 -m venv /work/venv-fid
    /work/venv-fid/bin/pip install "torch==2.13.0+cpu" "torchvision==0.28.*" pytorch-fid safetensors
"""
import sys
import types

import numpy as np


def import_pytorch_fid():
    """pytorch_fid.inception, importable with a CPU torch and PyPI's torchvision wheel.

    That wheel's compiled ops are built for another torch, so `import torchvision` dies registering
    fake kernels for ops (nms, roi_align) that never loaded. The Inception model is plain Python and
    needs none of them: skip that one module.
    """
    sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
    import pytorch_fid.inception as inception
    return inception


def fid_model(state_dict):
    """pytorch-fid's InceptionV3 (pool3 output, its own resize and [-1, 1] scaling) with `state_dict`
    (pytorch-fid's FID_WEIGHTS state-dict layout) loaded instead of the downloaded file."""
    inception = import_pytorch_fid()
    original = inception.load_state_dict_from_url
    inception.load_state_dict_from_url = lambda *args, **kwargs: state_dict
    try:
        model = inception.InceptionV3([inception.InceptionV3.BLOCK_INDEX_BY_DIM[2048]],
                                      resize_input=True, normalize_input=True, use_fid_inception=True)
    finally:
        inception.load_state_dict_from_url = original
    return model.eval()


def fid_state_dict_layout():
    """(key, shape) of pytorch-fid's state dict, from an unloaded fid Inception3 (the same model class
    pytorch-fid loads its .pth into)."""
    inception = import_pytorch_fid()
    net = inception._inception_v3(num_classes=1008, aux_logits=False, weights=None)
    for name, block in [("Mixed_5b", inception.FIDInceptionA(192, pool_features=32)),
                        ("Mixed_5c", inception.FIDInceptionA(256, pool_features=64)),
                        ("Mixed_5d", inception.FIDInceptionA(288, pool_features=64)),
                        ("Mixed_6b", inception.FIDInceptionC(768, channels_7x7=128)),
                        ("Mixed_6c", inception.FIDInceptionC(768, channels_7x7=160)),
                        ("Mixed_6d", inception.FIDInceptionC(768, channels_7x7=160)),
                        ("Mixed_6e", inception.FIDInceptionC(768, channels_7x7=192)),
                        ("Mixed_7b", inception.FIDInceptionE_1(1280)),
                        ("Mixed_7c", inception.FIDInceptionE_2(2048))]:
        setattr(net, name, block)
    return [(k, tuple(v.shape)) for k, v in net.state_dict().items()]


def conv_names(layout):
    """BasicConv2d names (e.g. "Mixed_5b.branch1x1") in state-dict order."""
    return [k[: -len(".conv.weight")] for k, _ in layout if k.endswith(".conv.weight")]


# ---- the deterministic weight rule (Swift: InceptionWeightRule) -------------------------------------

MASK = (1 << 64) - 1


def fnv1a64(text):
    h = 0xCBF29CE484222325
    for b in text.encode("utf-8"):
        h = ((h ^ b) * 0x100000001B3) & MASK
    return h


def rule_uniform(name, count, seed):
    """count values in [0, 1) with 24 random bits each: splitmix64's finalizer of
    (fnv1a64(name) ^ seed) + (i + 1) * golden ratio, top 24 bits."""
    base = np.uint64((fnv1a64(name) ^ seed) & MASK)
    i = np.arange(1, count + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = base + i * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(40)).astype(np.float64) / float(1 << 24)


def rule_conv_weight(name, shape, seed):
    """He-uniform values for NAME.conv.weight: (2u - 1) * sqrt(6 / fan_in) in float64, then float32."""
    fan_in = int(np.prod(shape[1:]))
    u = rule_uniform(name + ".conv.weight", int(np.prod(shape)), seed)
    return ((2.0 * u - 1.0) * np.sqrt(6.0 / fan_in)).astype(np.float32).reshape(shape)
