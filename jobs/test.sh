#!/usr/bin/env bash
# The test command: unit, finite-difference, golden, property and store fault tests (debug build).
# --no-parallel: OpenBLAS threads and ComputeThreads are process-global, and a few tests change them
# (thread-determinism checks) while others assert bit-identical results; running tests one at a time
# keeps those assertions meaningful.
set -euo pipefail
cd "$(dirname "$0")/.."
swift test --no-parallel 2>&1
