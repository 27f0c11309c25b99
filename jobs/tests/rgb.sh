#!/usr/bin/env bash
# Any data, any geometry (issue 19): a small RGB ImageFolder of 32x32 digits painted in one colour per
# class (made by fs-data from MNIST) runs the whole chain: tiny teacher -> feature network for the set ->
# rollout -> FlowSteer student -> colour PNG grid -> eval with a finite FID. Then the same images read
# as MNIST, as an ImageFolder and as an EDM zip give the same feature statistics, and corrupt or
# inconsistent datasets exit 3 naming the file with the store unchanged. Prints "N passed, M failed".
set -uo pipefail
. "$(cd "$(dirname "$0")/.." && pwd)/lib.sh"
FS_JOB=rgb-test
fs_tools fs-data fs-train fs-rollout fs-distill fs-sample fs-eval fs-store || exit 1
W=$(mktemp -d "${TMPDIR:-/tmp}/fs-rgb.XXXXXX")
trap 'rm -rf "$W"' EXIT
. "$FS_ROOT/jobs/tests/lib/checks.sh"

# 1. the RGB dataset: train/ and test/ ImageFolders, 32x32x3, 10 classes
fs-data export --data mnist --split train --limit 1200 --paint-by-class --pad 2 --to "$W/rgb/train" --quiet >/dev/null
fs-data export --data mnist --split test --limit 400 --paint-by-class --pad 2 --to "$W/rgb/test" --quiet >/dev/null
info=$(fs-data info --data "$W/rgb" --split test --json 2>/dev/null)
check "fs-data reads the folder as 3x32x32, 10 classes, 400 images" \
  eval '[ "$(jq -r ".channels // empty" <<<"$info")" = 3 ] && [ "$(jq -r ".height // empty" <<<"$info")" = 32 ] && [ "$(jq -r ".classes // empty" <<<"$info")" = 10 ] && [ "$(jq -r ".count // empty" <<<"$info")" = 400 ]'

# 2. the whole chain on it
export OUT=$W/out DATA=$W/rgb FEATNET_EPOCHS=1 PRESET=tiny TEACHER_STEPS=20 CHECKPOINT_EVERY=10 BANK_SEEDS=0-15 \
  SUBSTEPS=2 DISTILL_STEPS=6 GRID_SEEDS=0-19 EVAL_SAMPLES=30 THREADS=2
bash "$FS_ROOT/jobs/pipeline.sh" >"$W/run.out" 2>"$W/run.err"; rc=$?
check "pipeline.sh on the RGB folder exits 0 (exit $rc)" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || tail -20 "$W/run.err"
png=$OUT/student-grid.png
# PNG byte 25 is the IHDR colour type: 2 = RGB, 0 = gray.
check "the student's grid is a colour PNG" eval '[ "$(od -An -tu1 -j25 -N1 "$png" | tr -d " ")" = 2 ]'
fid=$(jq -r ".fid // empty" "$OUT/eval.json")
check "the student's FID is finite ($fid)" awk -v f="$fid" 'BEGIN { exit !(f != "" && f + 0 == f && f >= 0 && f < 1e6) }'
check "the eval used the set's own feature network" eval 'jq -r ".feature_network_name // empty" "$OUT/eval.json" | grep -q "^featnet-"'
check "the teacher checkpoint records the dataset's geometry" \
  eval 'fs-store show teacher --store "$OUT/flowsteer.db" --json | grep -q "\"channels\":3"'

# 3. the same images as mnist, ImageFolder and EDM zip: the same feature statistics
# (the whole test split: a copy of MNIST in any format finds MNIST's network by its order-free set hash)
fs-data export --data mnist --split test --to "$W/mt" --quiet >/dev/null
fs-data export --data mnist --split test --to "$W/mt.zip" --quiet >/dev/null
fs-data export --data "$W/mt.zip" --to "$W/mt-again" --quiet >/dev/null
fs-eval stats --data mnist --split test --save-stats "$W/st-idx" --quiet >/dev/null 2>&1
fs-eval stats --data "$W/mt" --save-stats "$W/st-folder" --quiet >/dev/null 2>&1
fs-eval stats --data "$W/mt.zip" --save-stats "$W/st-zip" --quiet >/dev/null 2>&1
fs-eval stats --data "$W/mt-again" --save-stats "$W/st-again" --quiet >/dev/null 2>&1
for s in folder zip again; do
  fd=$(fs-eval fd "$W/st-idx" "$W/st-$s" --json | jq -r ".fid // empty")
  check "MNIST test as $s: the IDX files' feature statistics (FD $fd)" awk -v f="$fd" 'BEGIN { exit !(f != "" && f < 1e-6) }'
done

# 4. bad data: exit 3, the file named, the store unchanged
S=$W/bad.db
fs-train --store "$S" --run ok --preset tiny --data "$W/mt" --steps 2 --checkpoint-every 2 --quiet >/dev/null 2>&1
before=$(sha256sum "$S" | cut -c1-64)
bad() {  # bad NAME DIR EXPECTED-IN-MESSAGE
  local err rc=0 want=$3
  err=$(fs-train --store "$S" --run "bad-$1" --preset tiny --data "$2" --steps 2 --quiet 2>&1 >/dev/null) || rc=$?
  check "$1: exit 3 naming $want (exit $rc: ${err:0:160})" eval '[ "$rc" -eq 3 ] && [[ "$err" == *"$want"* ]]'
}
first() { echo "$1/$(ls "$1" | head -1)"; }
mkdir -p "$W/mixed/a" "$W/mixed/b"; cp "$(first "$W/mt/0")" "$W/mixed/a/x.png"; cp "$(first "$W/rgb/test/0")" "$W/mixed/b/odd.png"
bad "mixed sizes" "$W/mixed" "odd.png"
mkdir -p "$W/corrupt/a"; cp "$(first "$W/mt/0")" "$W/corrupt/a/"; head -c 60 "$(first "$W/mt/1")" > "$W/corrupt/a/broken.png"
bad "a PNG that does not decode" "$W/corrupt" "broken.png"
mkdir -p "$W/empty/a"
bad "an empty folder" "$W/empty" "$W/empty"
printf '{"labels": [["00000/img00000000.png", 3], ["00000/missing.png", 1]]}' > "$W/dataset.json"
(cd "$W" && cp mt.zip listed.zip && zip -q listed.zip dataset.json)
bad "a zip without a listed file" "$W/listed.zip" "missing.png"
printf '{"labels": [["00000/img00000000.png", -4]]}' > "$W/dataset.json"
(cd "$W" && cp mt.zip neg.zip && zip -q neg.zip dataset.json)
bad "a negative label" "$W/neg.zip" "label"
check "the store is unchanged by the refused runs" [ "$(sha256sum "$S" | cut -c1-64)" = "$before" ]

# 5. an unlabelled EDM zip ({"labels": null}) trains an unconditional model that samples, rolls out, distills and evaluates
printf '{"labels": null}' > "$W/dataset.json"
(cd "$W" && cp mt.zip unl.zip && zip -q unl.zip dataset.json)
U=$W/unl.db
fs-train --store "$U" --run u --preset tiny --data "$W/unl.zip" --steps 4 --checkpoint-every 4 --quiet >/dev/null 2>&1; rc=$?
check "an unlabelled zip trains (exit $rc)" [ "$rc" -eq 0 ]
fs-sample --store "$U" --checkpoint u --steps 4 --seeds 0-9 --png "$W/u.png" --quiet >/dev/null 2>&1; rc=$?
check "the unconditional teacher samples (exit $rc)" [ "$rc" -eq 0 ]
fs-rollout --store "$U" --teacher u --name b --seeds 0-7 --segments 2 --substeps 2 --quiet >/dev/null 2>&1 &&
  fs-distill --store "$U" --run s --teacher u --bank b --method flowsteer --ota --segments 2 --steps 2 --preset tiny --quiet >/dev/null 2>&1; rc=$?
check "it rolls out and distills (exit $rc)" [ "$rc" -eq 0 ]
out=$(fs-eval --store "$U" --checkpoint s --num-samples 20 --features mnist --json 2>/dev/null); rc=$?
check "its student evaluates without a class accuracy (exit $rc)" \
  eval '[ "$rc" -eq 0 ] && [ -n "$(jq -r ".fid // empty" <<<"$out")" ] && [ -z "$(jq -r ".class_accuracy // empty" <<<"$out")" ]'

checks_summary
