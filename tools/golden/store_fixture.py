"""Writes the PyTorch-side safetensors fixture for Tests/StoreTests/SafetensorsFixture.swift.

Run: /root/venv/bin/python tools/golden/store_fixture.py
Prints the file as base64 plus the SHA-256 of the file; paste both into the Swift test.
Also `--check FILE` loads FILE with safetensors.torch and prints each tensor's sum (used to
confirm that PyTorch loads our exports).
"""
import base64
import hashlib
import sys

import torch
from safetensors.torch import load_file, save


def fixture() -> bytes:
    g = torch.Generator().manual_seed(1234)
    tensors = {
        "down.0.conv.weight": torch.randn(4, 1, 3, 3, generator=g),
        "down.0.conv.bias": torch.randn(4, generator=g),
        "head.weight": torch.randn(10, 4, generator=g),
        "stats.mean": torch.randn(3, generator=g, dtype=torch.float64),
        "steps": torch.arange(6, dtype=torch.int64),
        "empty": torch.zeros(0, 2),
    }
    return save(tensors, metadata={"format": "pt", "config": '{"channels":4}'})


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        for k, v in load_file(sys.argv[2]).items():
            print(k, v.dtype, list(v.shape), float(v.double().sum()))
    else:
        data = fixture()
        print(base64.b64encode(data).decode())
        print(hashlib.sha256(data).hexdigest())
