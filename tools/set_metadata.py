"""Adds or replaces __metadata__ entries of a safetensors file without touching its tensors.

Used in sessions before `fs-store export --recommended-cfg W` existed to record the shipped teachers'
recommended_cfg (models/*.json name it); new files are exported with that option instead.
Usage: /root/venv/bin/python tools/set_metadata.py FILE key=value [key=value ...]
"""
import json, struct, sys

path, pairs = sys.argv[1], [a.split("=", 1) for a in sys.argv[2:]]
with open(path, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
    data = f.read()
meta = header.setdefault("__metadata__", {})
for k, v in pairs:
    meta[k] = v
raw = json.dumps(header, separators=(",", ":")).encode()
raw += b" " * (-len(raw) % 8)
with open(path, "wb") as f:
    f.write(struct.pack("<Q", len(raw)) + raw + data)
