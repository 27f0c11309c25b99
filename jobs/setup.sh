#!/usr/bin/env bash
# Installs the Debian packages the toolkit links against and builds the tools (release).
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
pkgs="libopenblas-dev libsqlite3-dev libarchive-dev libpng-dev libopenmpi-dev openmpi-bin pkg-config zstd zip jq dataset-fashion-mnist"
missing=""
for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi
swift build -c release 2>&1 | tail -3
echo "tools: $(swift build -c release --show-bin-path)"
