#!/usr/bin/env bash
# fs-bench's contract (issue 2): one JSON object with every key bench/unet.sh and the closing notes read, positive
# numbers, and usage errors (exit 2) for a bad --only or --model and zero/absurd counts. Runs a tiny UNet (and a tiny DiT,
# --model dit) so it takes a few seconds.
set -uo pipefail
. "$(cd "$(dirname "$0")/.." && pwd)/lib.sh"
FS_JOB=bench-test
fs_tools fs-bench || exit 1
W=$(mktemp -d "${TMPDIR:-/tmp}/fs-bench-test.XXXXXX")
trap 'rm -rf "$W"' EXIT
. "$FS_ROOT/jobs/tests/lib/checks.sh"

out=$(fs-bench --channels 8,16 --batch 4 --iterations 1 --threads 2 --json 2>/dev/null); rc=$?
check "fs-bench exits 0 (exit $rc)" [ "$rc" -eq 0 ]
check "it prints exactly one line" [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ]
for k in sgemm_gflops_1024 conv2d_forward_ms conv2d_backward_ms unet_train_images_per_second \
         unet_forward_images_per_second peak_rss_mb; do
  v=$(jq -r --arg k "$k" '.[$k] // empty' <<<"$out")
  check "$k is a positive number ($v)" awk -v v="$v" 'BEGIN { exit !(v != "" && v + 0 > 0) }'
done
check "threads is the requested 2" [ "$(jq -r ".threads // empty" <<<"$out")" = 2 ]
fs-bench --only bogus >/dev/null 2>"$W/bench.err"; rc=$?
check "a bad --only is a usage error, exit 2 like every tool (exit $rc)" [ "$rc" -eq 2 ]
check "  ... naming the valid choices" grep -q "all, train, forward, conv, norm, latency" "$W/bench.err"
for bad in "--iterations 0" "--channels 0" "--channels 8,0" "--batch 0" "--threads 0" "--batch 100000000"; do
  fs-bench $bad >/dev/null 2>&1; rc=$?
  check "fs-bench $bad is a usage error (exit $rc)" [ "$rc" -eq 2 ]
done
# --model dit (bench/dit.sh's keys) on a tiny DiT.
out=$(fs-bench --model dit --dit-hidden 32 --dit-depth 1 --dit-heads 2 --dit-patch 4 --batch 2 --iterations 1 --threads 2 --json 2>/dev/null); rc=$?
check "fs-bench --model dit exits 0 (exit $rc)" [ "$rc" -eq 0 ]
for k in dit_train_images_per_second dit_forward_images_per_second peak_rss_mb; do
  v=$(jq -r --arg k "$k" '.[$k] // empty' <<<"$out")
  check "dit: $k is a positive number ($v)" awk -v v="$v" 'BEGIN { exit !(v != "" && v + 0 > 0) }'
done
# --only gemm: each DiT product timed on CGEMM (when this CPU runs it) and on OpenBLAS.
out=$(fs-bench --only gemm --iterations 1 --threads 1 --json 2>/dev/null); rc=$?
check "fs-bench --only gemm exits 0 (exit $rc)" [ "$rc" -eq 0 ]
kern=$(jq -r '.cgemm_kernels // empty' <<<"$out")
check "it names the CGEMM kernels ($kern)" bash -c "[[ '$kern' =~ ^(avx512f|avx2\+fma|none)$ ]]"
check "six products, each with a positive OpenBLAS rate (and CGEMM's unless none)" \
  jq -e --arg k "$kern" '.dit_gemm_gflops_one_thread | length == 6 and all(.[]; .openblas > 0 and ($k == "none" or .cgemm > 0))' <<<"$out" >/dev/null
fs-bench --model bogus >/dev/null 2>&1; rc=$?
check "a bad --model is a usage error, exit 2 (exit $rc)" [ "$rc" -eq 2 ]

checks_summary
