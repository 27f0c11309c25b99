#!/usr/bin/env bash
# The test command: unit, finite-difference, golden, property and store fault tests (debug build).
# --no-parallel: OpenBLAS threads and ComputeThreads are process-global, and a few tests change them
# (thread-determinism checks) while others assert bit-identical results; running tests one at a time
# keeps those assertions meaningful.
# -Xswiftc -O: still the debug configuration (DEBUG defined, @testable imports, bounds and overflow
# checks kept; the sources use no assert()), but optimised code, since most of the suite's time is
# numeric loops that -Onone runs about 10x slower (docs/style.md). Measured: the whole suite (147 tests)
# used about 20 s of CPU at -O, while the unoptimised suite took about 10 minutes in the last CI, most of
# .ci/run's 20-minute budget. FS_TEST_ONONE=1 runs it unoptimised (for a debugger).
set -euo pipefail
cd "$(dirname "$0")/.."
opt=(-Xswiftc -O)
[ "${FS_TEST_ONONE:-0}" = 1 ] && opt=()
swift test --no-parallel "${opt[@]}" 2>&1
