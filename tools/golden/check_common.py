"""What the export check scripts share: reading a .safetensors file as (tensors, metadata), exit 3 naming the file
if it cannot be read (truncated or malformed), as the tools do for bad input; and a tally of named checks."""
import sys

from safetensors import safe_open


def read(path):
    try:
        with safe_open(path, "pt") as f:
            return {k: f.get_tensor(k) for k in f.keys()}, (f.metadata() or {})
    except Exception as e:  # truncated / malformed file
        print(f"error: cannot read {path}: {e}", file=sys.stderr)
        sys.exit(3)


class Checks:
    """report(name, passed, detail) prints one "ok/FAIL name: detail" line; ok is whether all passed so far."""

    def __init__(self):
        self.ok = True

    def report(self, name, passed, detail=""):
        self.ok &= bool(passed)
        print(f"{'ok  ' if passed else 'FAIL'} {name}{': ' + detail if detail else ''}")
