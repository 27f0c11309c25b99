#!/usr/bin/env bash
# The test command: unit, golden and property tests (debug build), then the tool-level checks.
set -euo pipefail
cd "$(dirname "$0")/.."
swift test 2>&1
