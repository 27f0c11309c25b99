"""Reading a .safetensors file as the export checks need it: (tensors, metadata), exit 3 naming the file if it
cannot be read (truncated or malformed), as the tools do for bad input."""
import sys

from safetensors import safe_open


def read(path):
    try:
        with safe_open(path, "pt") as f:
            return {k: f.get_tensor(k) for k in f.keys()}, (f.metadata() or {})
    except Exception as e:  # truncated / malformed file
        print(f"error: cannot read {path}: {e}", file=sys.stderr)
        sys.exit(3)
