#!/usr/bin/env bash
# Writes the ablation's results page (RESULTS_MD, default docs/results.md) purely from the store that
# jobs/ablation.sh filled: every number comes from an eval_result record (ablation/...) or a run's
# metrics; nothing is typed by hand. Also writes the FID-vs-NFE plot (SVG, drawn with awk) into
# RESULTS_DIR and links the sample grids ablation.sh wrote there.
#
#   bash jobs/results.sh                        # STORE=out/ablation/ablation.db -> docs/results.md
#   OUT=out/ablation-quick RESULTS_MD=out/ablation-quick/results.md RESULTS_DIR=out/ablation-quick/results bash jobs/results.sh
#   (bash jobs/ablation.sh --results-only [--quick] sets these for you)
set -euo pipefail
cd "$(dirname "$0")/.."
. jobs/lib.sh
FS_JOB=results

OUT=${OUT:-out/ablation}
STORE=${STORE:-$OUT/ablation.db}
RESULTS_MD=${RESULTS_MD:-docs/results.md}
RESULTS_DIR=${RESULTS_DIR:-docs/results}
fs_tools fs-store
[ -f "$STORE" ] || fs_die "no store at $STORE (run jobs/ablation.sh first, or set STORE/OUT)"
mkdir -p "$RESULTS_DIR"
W=$(mktemp -d "${TMPDIR:-/tmp}/fs-results.XXXXXX")
trap 'rm -rf "$W"' EXIT

# ---- every record as "name<TAB>field<TAB>value" -----------------------------------------------------------
fs-store ls --store "$STORE" --kind eval_result --json | json_flat | awk -F '\t' '
  $1 ~ /^artifacts\.[0-9]+\.name$/ { split($1, p, "."); nm[p[2]] = $2; next }
  $1 ~ /^artifacts\.[0-9]+\.metadata\.safetensors_metadata\./ {
    split($1, p, "."); f = $1; sub(/^artifacts\.[0-9]+\.metadata\.safetensors_metadata\./, "", f)
    v = $0; sub(/^[^\t]*\t/, "", v); row[p[2], f] = v; fields[p[2]] = fields[p[2]] "\t" f }
  END { for (i in nm) if (nm[i] ~ /^ablation\//) { n = split(substr(fields[i], 2), fs, "\t")
          for (j = 1; j <= n; j++) printf "%s\t%s\t%s\n", substr(nm[i], 10), fs[j], row[i, fs[j]] } }
' | sort > "$W/rec.tsv"
[ -s "$W/rec.tsv" ] || fs_die "the store $STORE holds no ablation records"

# get KEY FIELD [DEFAULT]: one record field ("-" when absent).
get() { awk -F '\t' -v k="$1" -v f="$2" -v d="${3:--}" '$1 == k && $2 == f { v = $3; found = 1 } END { print found ? v : d }' "$W/rec.tsv"; }
# latest KEYPREFIX FIELD: the field of the newest record whose key starts with KEYPREFIX (keys end in a timestamp).
latest() { awk -F '\t' -v k="$1" -v f="$2" 'index($1, k) == 1 && $2 == f { v = $3 } END { print v == "" ? "-" : v }' "$W/rec.tsv"; }
# first KEYPREFIX FIELD: the same for the oldest such record.
first() { awk -F '\t' -v k="$1" -v f="$2" 'index($1, k) == 1 && $2 == f && v == "" { v = $3 } END { print v == "" ? "-" : v }' "$W/rec.tsv"; }
# fmt VALUE DIGITS: fixed-point, "-" kept.
fmt() { awk -v v="$1" -v d="$2" 'BEGIN { if (v == "-" || v == "") print "–"; else printf "%.*f\n", d, v }'; }
# keys TABLE: eval keys of a table ordered by their "order" field, then key.
keys() { awk -F '\t' -v t="$1" '$1 ~ /^eval\// && $2 == "table" && $3 == t { k[$1] = 1 } $1 ~ /^eval\// && $2 == "order" { o[$1] = $3 }
                                END { for (x in k) printf "%06d\t%s\n", o[x], x }' "$W/rec.tsv" | sort | cut -f2; }
short() { printf '%s' "${1#eval/}"; }

# run metrics: wall-clock (sum of the recorded fs-distill invocations), final s/step, final loss_dist,
# discriminator accuracy averaged over the last quarter of the steps.
run_stats() {
  local run=$1 m
  if [ -z "$run" ] || [ "$run" = - ]; then printf '–\t–\t–\t–\n'; return; fi
  local wall; wall=$(awk -F '\t' -v r="train/$run/" 'index($1, r) == 1 && $2 == "seconds" { s += $3; n++ } END { print n ? s : "-" }' "$W/rec.tsv")
  m=$(fs-store metrics --store "$STORE" "$run" --json 2>/dev/null | json_flat || true)
  printf '%s\n' "$m" | awk -F '\t' -v wall="$wall" '
    $1 ~ /\.step$/ { split($1, p, "."); st[p[2]] = $2 }
    $1 ~ /\.name$/ { split($1, p, "."); nm[p[2]] = $2 }
    $1 ~ /\.value$/ { split($1, p, "."); va[p[2]] = $2 }
    END {
      for (i in nm) { if (st[i] > last) last = st[i] }
      for (i in nm) {
        if (nm[i] == "seconds_per_step" && st[i] >= sst) { sst = st[i]; sps = va[i] }
        if (nm[i] == "loss_dist" && st[i] == last) ld = va[i]
        if (nm[i] == "d_acc" && st[i] > 0.75 * last) { da += va[i]; dn++ }
      }
      printf "%s\t%s\t%s\t%s\n", (wall == "-" ? "–" : sprintf("%.0f s", wall)), (sps == "" ? "–" : sprintf("%.3f", sps)),
             (ld == "" ? "–" : sprintf("%.4f", ld)), (dn ? sprintf("%.2f", da / dn) : "–")
    }'
}

FLOOR=$(get floor/test-halves fid)
FLOOR_N=$(get floor/test-halves n)
W_STAR=$(get choice/recommended_cfg w)
MODE=$(latest params/ mode); [ "$MODE" != - ] || MODE=$(latest params-t1/ mode); [ "$MODE" != - ] || MODE=$(latest done-tuned/ mode); [ "$MODE" != - ] || MODE=$(latest done-probes/ mode)   # a one-section store

# ---- the FID-vs-NFE plot ---------------------------------------------------------------------------------------
{
  for k in $(keys t2); do printf 'teacher (%s grid, w*)\t%s\t%s\n' "$(get "$k" schedule)" "$(get "$k" nfe)" "$(get "$k" fid)"; done
  for k in $(keys beyond_k); do printf 'FlowSteer student (K steps)\t%s\t%s\n' "$(get "$k" nfe)" "$(get "$k" fid)"; done
  for k in $(keys ablation); do
    case $k in eval/abl/A-s0) printf 'PeRFlow, diffusers grid\t%s\t%s\n' "$(get "$k" nfe)" "$(get "$k" fid)" ;;
               eval/abl/B-s0) printf 'PeRFlow, fixed grid\t%s\t%s\n' "$(get "$k" nfe)" "$(get "$k" fid)" ;;
               eval/abl/REFLOW-s0) printf 'ReFlow\t%s\t%s\n' "$(get "$k" nfe)" "$(get "$k" fid)" ;; esac
  done
} | awk -F '\t' '$2 != "-" && $3 != "-"' > "$W/plot.tsv"
awk -F '\t' -v floor="$FLOOR" '
  function lx(v) { return log(v) / log(10) }
  function X(v) { return L + (lx(v) - x0) / (x1 - x0) * PW }
  function Y(v) { return T + (1 - (lx(v) - y0) / (y1 - y0)) * PH }
  { if (!($1 in idx)) { idx[$1] = ++ns; nm[ns] = $1 } s = idx[$1]; n[s]++; px[s, n[s]] = $2; py[s, n[s]] = ($3 > 0 ? $3 : 1e-3)
    if (!(minx) || $2 < minx) minx = $2; if ($2 > maxx) maxx = $2
    v = py[s, n[s]]; if (!(miny) || v < miny) miny = v; if (v > maxy) maxy = v }
  END {
    if (ns == 0) exit
    if (floor != "-" && floor > 0 && floor < miny) miny = floor
    split("#1f77b4 #d62728 #2ca02c #ff7f0e #9467bd #8c564b #e377c2 #17becf", col, " ")
    Wd = 760; Ht = 440; L = 70; R = 250; T = 40; B = 55; PW = Wd - L - R; PH = Ht - T - B
    x0 = lx(minx) - 0.1; x1 = lx(maxx) + 0.1; y0 = int(lx(miny)) - (lx(miny) < 0 ? 1 : 0); y1 = lx(maxy) + 0.05
    if (y1 - y0 < 1) y1 = y0 + 1
    printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n", Wd, Ht, Wd, Ht
    printf "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
    printf "<text x=\"%d\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">FID vs NFE (log-log; lower is better)</text>\n", L + PW / 2
    for (e = 0; 2 ^ e <= maxx * 1.01; e++) { v = 2 ^ e; if (v < minx / 1.01) continue
      printf "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e5e5e5\"/>\n", X(v), T, X(v), T + PH
      printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%d</text>\n", X(v), T + PH + 16, v }
    for (d = y0; d <= y1; d++) for (m = 1; m <= 5; m += (m == 1 ? 1 : 3)) { v = m * 10 ^ d; if (lx(v) < y0 || lx(v) > y1) continue
      printf "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>\n", L, Y(v), L + PW, Y(v)
      printf "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", L - 6, Y(v) + 4, v }
    printf "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#333\"/>\n", L, T, PW, PH
    printf "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">NFE (UNet evaluations per sample; CFG counts 2 per step)</text>\n", L + PW / 2, Ht - 12
    printf "<text x=\"16\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate(-90 16 %d)\">FID</text>\n", T + PH / 2, T + PH / 2
    if (floor != "-" && floor > 0) {
      printf "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#888\" stroke-dasharray=\"5,4\"/>\n", L, Y(floor), L + PW, Y(floor)
      printf "<text x=\"%d\" y=\"%.1f\" fill=\"#666\">noise floor</text>\n", L + 4, Y(floor) - 4 }
    for (s = 1; s <= ns; s++) {
      c = col[(s - 1) % 8 + 1]
      # sort points by x
      for (i = 1; i <= n[s]; i++) for (j = i + 1; j <= n[s]; j++) if (px[s, j] + 0 < px[s, i] + 0) {
        t = px[s, i]; px[s, i] = px[s, j]; px[s, j] = t; t = py[s, i]; py[s, i] = py[s, j]; py[s, j] = t }
      if (n[s] > 1) { printf "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", c
        for (i = 1; i <= n[s]; i++) printf "%.1f,%.1f ", X(px[s, i]), Y(py[s, i]); printf "\"/>\n" }
      for (i = 1; i <= n[s]; i++) printf "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"/>\n", X(px[s, i]), Y(py[s, i]), c
      ly = T + 10 + 20 * (s - 1)
      printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"/><circle cx=\"%d\" cy=\"%d\" r=\"3.5\" fill=\"%s\"/>\n", L + PW + 12, ly, L + PW + 36, ly, c, L + PW + 24, ly, c
      gsub(/&/, "\\&amp;", nm[s]); gsub(/</, "\\&lt;", nm[s])
      printf "<text x=\"%d\" y=\"%d\">%s</text>\n", L + PW + 42, ly + 4, nm[s] }
    printf "</svg>\n" }
' "$W/plot.tsv" > "$W/plot.svg"
PLOT=$RESULTS_DIR/fid-vs-nfe.svg
if [ -s "$W/plot.svg" ]; then mv -f "$W/plot.svg" "$PLOT"; else PLOT=; fi
# links from RESULTS_MD to files in RESULTS_DIR
rel() { local d; d=$(cd "$(dirname "$RESULTS_MD")" && pwd); local f; f=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
        printf '%s' "${f#"$d"/}"; }
gridcell() { local png; png=$RESULTS_DIR/grids/$(short "$1" | tr '/' '_').png; [ -s "$png" ] && printf '[grid](%s)' "$(rel "$png")" || printf '–'; }

# mean FID of the seeds of an ablation row (eval/abl/ID-s*), and "min–max"
rowfid() { awk -F '\t' -v id="eval/abl/$1-s" 'index($1, id) == 1 && $2 == "fid" { s += $3; n++; if (n == 1 || $3 < lo) lo = $3; if (n == 1 || $3 > hi) hi = $3 }
           END { if (n) printf "%s\t%d\t%s\t%s\n", s / n, n, lo, hi; else print "-\t0\t-\t-" }' "$W/rec.tsv"; }
rowacc() { awk -F '\t' -v id="eval/abl/$1-s" 'index($1, id) == 1 && $2 == "class_accuracy" { s += $3; n++ } END { print n ? s / n : "-" }' "$W/rec.tsv"; }
rowtraj() { awk -F '\t' -v id="traj/abl/$1-s" 'index($1, id) == 1 && $2 == "mse" { s += $3; n++ } END { print n ? s / n : "-" }' "$W/rec.tsv"; }
# verdict WORSE BETTER TEXT: expected FID(WORSE) > FID(BETTER) by more than the floor.
verdict() {
  local a b; a=$(rowfid "$1"); b=$(rowfid "$2")
  awk -F '\t' -v a="$a" -v b="$b" -v fl="$FLOOR" -v what="$3" -v A="$1" -v B="$2" 'BEGIN {
    split(a, x, "\t"); split(b, y, "\t")
    if (x[1] == "-" || y[1] == "-") { printf "- %s: not measured (%s or %s missing).\n", what, A, B; exit }
    gap = x[1] - y[1]; f = (fl == "-" ? 0 : fl)
    spread = ""; if (x[2] > 1) spread = spread sprintf("; %s seeds %.2f–%.2f", A, x[3], x[4]); if (y[2] > 1) spread = spread sprintf("; %s seeds %.2f–%.2f", B, y[3], y[4])
    v = gap > f ? "**holds**" : (gap < -f ? "**reversed**" : "**within noise**")
    printf "- %s: %s — FID %s %.2f vs %s %.2f, gap %+.2f against a noise floor of %.2f%s.\n", what, v, A, x[1], B, y[1], gap, f, spread }'
}

# student_table TABLE: the students of TABLE, one row each, with their training statistics.
student_table() {
  local k t wall sps ld dacc seed
  echo "| row | seed | FID | KID (± std) | class acc | traj MSE | NFE | n | train wall-clock | s/step | final L_dist | D acc | samples |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  for k in $(keys "$1"); do
    t=traj/${k#eval/}
    IFS=$'\t' read -r wall sps ld dacc < <(run_stats "$(get "$k" run)")
    seed=$(get "$k" note); case $seed in "seed "*) seed=${seed#seed } ;; *) seed=– ;; esac
    echo "| $(get "$k" label) | $seed | $(fmt "$(get "$k" fid)" 2) | $(fmt "$(get "$k" kid)" 4) ± $(fmt "$(get "$k" kid_std)" 4) | $(fmt "$(get "$k" class_accuracy)" 3) | $(fmt "$(get "$t" mse)" 4) | $(get "$k" nfe) | $(get "$k" num_samples) | $wall | $sps | $ld | $dacc | $(gridcell "$k") |"
  done
  echo
}

# A store filled by ONLY=tuned alone (no full run's params/ record) gets a page of its own: set-up, the 10k targets and
# section h, without the empty tables of the other sections.
PAGE=full
[ "$(latest params/ command)" = - ] && { [ "$(latest params-tuned/ command)" != - ] || [ "$(latest params-probes/ command)" != - ]; } && PAGE=tuned

{
if [ "$PAGE" = tuned ]; then
echo "# Results: tuned FlowSteer at MNIST scale (section h of the ablation, run alone)"
echo
echo "Generated by \`jobs/results.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC') from the store \`$STORE\`, which \`ONLY=tuned bash jobs/ablation.sh\`"
echo "filled: section h of the ablation and the targets it is measured on, without the other sections (the full ablation's"
echo "page is [results.md](results.md)). Every number below is read from that store; rerun the command to reproduce it."
echo
[ "$MODE" = quick ] && { echo "> **SMOKE RUN (\`--quick\`).** Tiny counts: these numbers only show that the section runs end to end."; echo; }
{ { [ "$(latest params-tuned/ command)" != - ] && [ "$(latest done-tuned/ finished)" = - ]; } ||
  { [ "$(latest params-probes/ command)" != - ] && [ "$(latest done-probes/ finished)" = - ]; }; } &&
  { echo "> **PARTIAL RUN.** Rows without numbers were not reached yet; rerun the command to continue."; echo; }
echo "| item | value |"
echo "|---|---|"
echo "| command | \`$(latest params-tuned/ command)\` |"
echo "| parameters | $(latest params-tuned/ parameters) |"
echo "| run started / finished | $(first params-tuned/ started) / $(latest done-tuned/ finished) ($(awk -F '\t' '$1 ~ /^params-tuned\// && $2 == "started"' "$W/rec.tsv" | wc -l) invocations) |"
echo "| wall-clock (last invocation) | $(latest done-tuned/ seconds) s |"
echo "| machine | $(latest params-tuned/ nproc) cores, $(latest params-tuned/ cpu), $(latest params-tuned/ threads) threads per tool |"
echo "| compiler | $(latest params-tuned/ swift) |"
echo "| teacher | \`$(get choice/teacher source)\` (hash $(get choice/teacher hash | cut -c1-12)) |"
echo "| recommended_cfg w* | **$W_STAR** ($(get choice/recommended_cfg rule)) |"
echo "| FID noise floor | **$(fmt "$FLOOR" 2)**: FID between two disjoint halves of MNIST test ($FLOOR_N even-index vs $FLOOR_N odd-index digits) |"
echo
echo "FID, KID, class accuracy, trajectory MSE and NFE are defined as on the [full results page](results.md#set-up)."
echo "Students are evaluated with their EMA weights on their own grid."
echo
else
echo "# Results: the FlowSteer ablation at MNIST scale"
echo
if [ "$MODE" = quick ]; then
  echo "> **SMOKE RUN (\`--quick\`).** Tiny sample counts and a few training steps: these numbers only show that"
  echo "> the pipeline runs end to end. They say nothing about the method. The real results come from the full run."
  echo
fi
if [ "$(latest done/ finished)" = - ]; then
  echo "> **PARTIAL RUN.** The ablation started $(latest params/ started) has not finished: rows and tables without"
  echo "> numbers below were not reached yet (the orderings say \"not measured\"). Rerun \`bash jobs/ablation.sh\` to"
  echo "> continue: finished units are skipped. Wall-clock columns were measured while other jobs shared the cores."
  echo
fi
echo "Generated by \`jobs/results.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC') from the store \`$STORE\`; every number below is"
echo "read from that store (eval_result records \`ablation/...\` written by \`jobs/ablation.sh\`, and the students' run"
echo "metrics). Rerun \`bash jobs/ablation.sh$([ "$MODE" = quick ] && echo ' --quick')\` to reproduce: finished units are skipped, interrupted ones resume."
echo
echo "## Set-up"
echo
echo "| item | value |"
echo "|---|---|"
echo "| command | \`$(latest params/ command)\` |"
echo "| parameters | $(latest params/ parameters) |"
echo "| run started / finished | $(first params/ started) / $(latest done/ finished) ($(awk -F '\t' '$1 ~ /^params\// && $2 == "started"' "$W/rec.tsv" | wc -l) invocations; interrupted ones resumed) |"
echo "| ablation wall-clock (last invocation) | $(latest done/ seconds) s |"
echo "| machine | $(latest params/ nproc) cores, $(latest params/ cpu), $(latest params/ threads) threads per tool |"
echo "| compiler | $(latest params/ swift) |"
echo "| teacher | \`$(get choice/teacher source)\` (hash $(get choice/teacher hash | cut -c1-12)) |"
echo "| recommended_cfg w* | **$W_STAR** ($(get choice/recommended_cfg rule)) |"
echo "| distillation guidance | w ~ U[$(latest params/ cfg_range)] per sample (w* ± $(latest params/ cfg_half_width), at least 1) |"
echo "| FID noise floor | **$(fmt "$FLOOR" 2)**: FID between two disjoint halves of MNIST test ($FLOOR_N even-index vs $FLOOR_N odd-index digits) |"
echo
echo "FID and KID are computed by \`fs-eval\` with the embedded feature network against its MNIST reference; class accuracy"
echo "is the share of samples the feature network classifies as the requested label. Trajectory MSE is the per-pixel MSE"
echo "(pixels clamped to [-1, 1]) between a row's samples and the teacher's 32-step fixed-schedule samples at w* from the same"
echo "$(awk -F '\t' '$1 ~ /^traj\// && $2 == "samples" { print $3; exit }' "$W/rec.tsv") seeds and labels. NFE = UNet evaluations per sample (CFG costs 2 per step; students are guidance-free)."
echo "Students are evaluated with their EMA weights on their own grid. Sample counts per row are in the tables: they are"
echo "below the 10k of issue 7 to fit the time budget, and FID is biased upward at small n, so compare rows of equal n only."
echo

fi

if [ "$PAGE" = full ]; then
echo "## a. Teacher guidance sweep (32 fixed steps)"
echo
echo "| w | FID | KID | class acc | n | eval s |"
echo "|---|---|---|---|---|---|"
for k in $(keys sweep); do
  echo "| $(get "$k" cfg) | $(fmt "$(get "$k" fid)" 2) | $(fmt "$(get "$k" kid)" 4) | $(fmt "$(get "$k" class_accuracy)" 3) | $(get "$k" num_samples) | $(get "$k" seconds) |"
done
echo
echo "The FID-best w is recorded as the teacher's recommended_cfg: **w* = $W_STAR**."
echo

echo "## b. The scheduler, training-free (paper Table 2)"
echo
echo "Teacher at w* = $W_STAR, Euler. N = 1 is the same grid [1, 0] on both schedules and is reported once."
echo
echo "| N | schedule | FID | KID | class acc | traj MSE | NFE | n | eval s |"
echo "|---|---|---|---|---|---|---|---|---|"
for k in $(keys t2); do
  t=traj/${k#eval/}
  echo "| $(get "$k" steps) | $(get "$k" schedule) | $(fmt "$(get "$k" fid)" 2) | $(fmt "$(get "$k" kid)" 4) | $(fmt "$(get "$k" class_accuracy)" 3) | $(fmt "$(get "$t" mse)" 4) | $(get "$k" nfe) | $(get "$k" num_samples) | $(get "$k" seconds) |"
done
echo
awk -F '\t' -v fl="$FLOOR" '
  $1 ~ /^eval\/t2\// && $2 == "fid" { split($1, p, "/"); split(p[3], q, "-"); f[q[1], q[2]] = $3; ns[q[2]] = 1 }
  END { for (n in ns) if (((("diffusers", n) in f)) && ((("fixed", n) in f))) {
          g = f["diffusers", n] - f["fixed", n]
          printf "- N = %s: diffusers %.2f vs fixed %.2f (gap %+.2f; %s)\n", n, f["diffusers", n], f["fixed", n], g,
                 (g > fl ? "fixed better beyond the noise floor" : (g < -fl ? "diffusers better beyond the noise floor" : "within the noise floor")) } }
' "$W/rec.tsv" | sort -t= -k2 -n
echo

echo "## c. Table 1 analogue: resuming the teacher from authentic vs interpolated states"
echo
echo "The teacher at 32 fixed steps (shift 3) is the 4-segment grid 1, .9, .75, .5, 0 with 8 Euler steps per segment. Its"
echo "last segment (from sigma 0.5) or last two (from 0.75) are run again from three kinds of start state for the same seeds"
echo "and labels: its **authentic** state there (saved by a run that stopped at that sigma), the interpolation"
echo "sigma·eps + (1 − sigma)·x0 of the sample's own noise eps with x0 = the teacher's **own** 32-step sample, and with"
echo "x0 = a **real** MNIST image of the same label ($(awk -F '\t' '$1 ~ /^eval\/t1\// && $2 == "x0" && $3 != "-" { print $3; exit }' "$W/rec.tsv"), image (seed / 10) mod n_y of label y:"
echo "the train split, so the FID reference, MNIST test, stays unseen). MSE to authentic is the per-pixel MSE (pixels clamped"
echo "to [-1, 1]) to the authentic run's final samples, which are bit for bit the uninterrupted 32-step samples (so"
echo "the authentic rows read 0). NFE counts the resumed steps only."
echo
echo "| w | segments resumed (from sigma) | start | FID | KID | class acc | MSE to authentic | NFE | n |"
echo "|---|---|---|---|---|---|---|---|---|"
for k in $(keys t1); do
  w=$(get "$k" cfg); [ "$w" = "$W_STAR" ] && w="$w (w*)"
  echo "| $w | $(get "$k" segments) (from $(get "$k" sigma)) | $(get "$k" label) | $(fmt "$(get "$k" fid)" 2) | $(fmt "$(get "$k" kid)" 4) | $(fmt "$(get "$k" class_accuracy)" 3) | $(fmt "$(get "$k" mse_to_authentic)" 4) | $(get "$k" nfe) | $(get "$k" num_samples) |"
done
echo
# The reading: per w and start sigma, FID and accuracy of each interpolated start against the authentic one.
awk -F '\t' -v fl="$FLOOR" '
  $1 ~ /^eval\/t1\// { keys[$1] = 1; v[$1, $2] = $3 }
  END {
    for (x in keys) if (v[x, "start"] == "authentic") auth[v[x, "cfg"], v[x, "segments"]] = x
    for (x in keys) if (v[x, "start"] != "authentic" && ((v[x, "cfg"], v[x, "segments"]) in auth)) {
      a = auth[v[x, "cfg"], v[x, "segments"]]; gap = v[x, "fid"] - v[a, "fid"]
      verdict = (fl == "-" ? "no noise floor measured" : (gap > fl ? "worse beyond the noise floor" : (gap < -fl ? "better beyond the noise floor" : "within the noise floor")))
      printf "%s\t%s\t%s\t- w = %s, from sigma %s, x0 = %s: FID %.2f vs authentic %.2f (%+.2f, %s); class accuracy %.3f vs %.3f.\n",
             v[x, "cfg"], v[x, "segments"], v[x, "start"], v[x, "cfg"], v[x, "sigma"], (v[x, "start"] == "own" ? "own sample" : "real image"),
             v[x, "fid"], v[a, "fid"], gap, verdict, v[x, "class_accuracy"], v[a, "class_accuracy"] } }
' "$W/rec.tsv" | sort -t$'\t' -k1,1n -k2,2n -k3,3 | cut -f4
echo
echo "The noise floor ($(fmt "$FLOOR" 2)) is measured at n = $FLOOR_N; these rows have n = $(awk -F '\t' '$1 ~ /^eval\/t1\// && $2 == "num_samples" { print $3; exit }' "$W/rec.tsv"), where FID is noisier and biased upward,"
echo "so it is a lower bound on the gap that counts. The paper expects interpolated starts to be worse, more so under stronger guidance."
echo

echo "## d. Component ablation at 4 steps (paper Table 5)"
echo
echo "Students: $(latest params/ distill), EMA weights, guidance-free (1 NFE per step)."
echo "Training wall-clock is the sum of the recorded \`fs-distill\` invocations of the run (pair pool generation included);"
echo "s/step is the run's last recorded mean; D acc is the discriminator accuracy averaged over the last quarter of the steps"
echo "(0.5 = chance)."
echo
student_table ablation

echo "## e. Beyond the paper"
echo
echo "### FlowSteer with K = 1, 2, 4, 8 steps (full FlowSteer, fixed grid, one bank per K with 32/K teacher sub-steps)"
echo
echo "| K | FID | KID | class acc | traj MSE | NFE | n | train wall-clock | s/step | samples |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for k in $(keys beyond_k); do
  t=traj/${k#eval/}
  IFS=$'\t' read -r wall sps ld dacc < <(run_stats "$(get "$k" run)")
  echo "| $(get "$k" steps) | $(fmt "$(get "$k" fid)" 2) | $(fmt "$(get "$k" kid)" 4) | $(fmt "$(get "$k" class_accuracy)" 3) | $(fmt "$(get "$t" mse)" 4) | $(get "$k" nfe) | $(get "$k" num_samples) | $wall | $sps | $(gridcell "$k") |"
done
echo
echo "### OTA from a stored bank vs --online (same steps, OTA only, no adversarial part)"
echo
echo "| row | FID | KID | class acc | traj MSE | n | train wall-clock | s/step | samples |"
echo "|---|---|---|---|---|---|---|---|---|"
for k in $(keys beyond_online); do
  t=traj/${k#eval/}
  IFS=$'\t' read -r wall sps ld dacc < <(run_stats "$(get "$k" run)")
  echo "| $(get "$k" label) | $(fmt "$(get "$k" fid)" 2) | $(fmt "$(get "$k" kid)" 4) | $(fmt "$(get "$k" class_accuracy)" 3) | $(fmt "$(get "$t" mse)" 4) | $(get "$k" num_samples) | $wall | $sps | $(gridcell "$k") |"
done
echo

echo "## f. FID against NFE"
echo
if [ -n "$PLOT" ]; then echo "![FID vs NFE]($(rel "$PLOT"))"; else echo "(no plottable results yet)"; fi
echo
echo "Teacher points are Table-2 rows ($(awk -F '\t' '$1 ~ /^eval\/t2\// && $2 == "num_samples" { print $3; exit }' "$W/rec.tsv") samples each), student points use $(awk -F '\t' '$1 ~ /^eval\/(beyond|abl)\// && $2 == "num_samples" { print $3; exit }' "$W/rec.tsv") samples; the dashed line is the noise floor."
echo

fi

HEAD_N=$(awk -F '\t' '$1 ~ /^eval\/head\// && $2 == "num_samples" { print $3; exit }' "$W/rec.tsv")
echo "## g. The targets at ${HEAD_N:-HEADLINE_N} samples, and FID against distillation steps"
echo
echo "The rows the issue's targets are stated on, evaluated at the larger sample count (same evaluation seed), so their"
echo "FIDs are lower than the same models' rows above (FID is biased upward at small n). eval s is wall-clock: a"
echo "section run with ONLY=headline beside a long run (as in the stored run) shares the cores, so it is not a cost figure."
echo
echo "| row | FID | KID (± std) | class acc | NFE | n | eval s |"
echo "|---|---|---|---|---|---|---|"
for k in $(keys head); do
  echo "| $(get "$k" label) | $(fmt "$(get "$k" fid)" 2) | $(fmt "$(get "$k" kid)" 4) ± $(fmt "$(get "$k" kid_std)" 4) | $(fmt "$(get "$k" class_accuracy)" 3) | $(get "$k" nfe) | $(get "$k" num_samples) | $(get "$k" seconds) |"
done
echo
if [ "$PAGE" = full ]; then
echo "Full FlowSteer (seed 0) after fewer distillation steps: its stored checkpoints, same evaluation as section d (the"
echo "adversarial terms switch on at 30% of the steps)."
echo
echo "| distillation steps | FID | KID | class acc | n |"
echo "|---|---|---|---|---|"
{ for k in $(keys length) eval/abl/FULL-s0; do
    [ "$(get "$k" fid)" = - ] && continue
    s=$(get "$k" steps); [ "$k" = eval/abl/FULL-s0 ] && s=$(awk -F '\t' '$1 ~ /^params\// && $2 == "parameters" { v = $3 } END { if (match(v, /DISTILL_STEPS=[0-9]+/)) print substr(v, RSTART + 14, RLENGTH - 14) }' "$W/rec.tsv")
    [ "$k" != eval/abl/FULL-s0 ] && s=$(get "$k" note | sed 's/^step //')
    echo "| $s | $(fmt "$(get "$k" fid)" 2) | $(fmt "$(get "$k" kid)" 4) | $(fmt "$(get "$k" class_accuracy)" 3) | $(get "$k" num_samples) |"
  done; } | sort -t'|' -k2,2n
echo
fi

if [ -n "$(keys tuned)" ]; then
  echo "## h. Tuned FlowSteer (beyond the paper's settings)"
  echo
  echo "Each row changes one thing from the previous, starting from section d's full FlowSteer (same steps, batch and"
  echo "lambda_adv): the teacher's guidance fixed at w* (the guidance-free student cannot tell w from the noise, so a range of w"
  echo "asks it for an average of differently guided trajectories), then a larger feature-matching weight, then a share of the"
  echo "distillation samples placed at the segment start sigma_k, the only point the student's Euler step evaluates"
  echo "(\`fs-distill --start-share\`; PeRFlow samples sigma_t uniformly in the segment), then the student's 4-step grid (and"
  echo "its bank) on a smaller shift, which moves the boundaries 1, .9, .75, .5, 0 of shift 3 towards the data end so the last"
  echo "step no longer spans half of the trajectory; the last row trains that student longer. Settings: $(latest params-tuned/ parameters)."
  echo "Trajectory MSE here is measured on the first TRAJ_N seeds 0, 1, ..., whose noise, label and w the w*-fixed banks"
  echo "hold as training trajectories, so it is a training-set figure; section i (when run) measures it on unseen noise."
  echo
  student_table tuned
fi

if [ -n "$(keys probes)" ]; then
  echo "## i. Probes on the tuned recipe (beyond the paper)"
  echo
  echo "Each row changes one thing in section h's tuned student (same bank, grid, steps and seed unless the row says"
  echo "otherwise), to test an explanation of its remaining gap to the teacher. Every row here, the teacher's included, is"
  echo "measured on noise no trajectory bank holds: evaluation seeds from $(latest params-probes/ parameters | sed -n 's/.*PROBE_EVAL_SEED=\([0-9]*\).*/\1/p')"
  echo "and trajectory MSE on the first TRAJ_N of them (the other sections evaluate on seeds 2024.. and measure trajectory MSE on seeds"
  echo "0.., which the banks' seeds 0..N-1 cover in noise, though mostly with other labels). Command: \`$(latest params-probes/ command)\`,"
  echo "started $(first params-probes/ started), finished $(latest done-probes/ finished) ($(awk -F '\t' '$1 ~ /^params-probes\// && $2 == "started"' "$W/rec.tsv" | wc -l) invocations, the last"
  echo "$(latest done-probes/ seconds) s) on $(latest params-probes/ nproc) cores ($(latest params-probes/ cpu)). Settings: $(latest params-probes/ parameters)."
  echo
  student_table probes
  awk -F '\t' '$1 == "eval/probe/teacher-32" && $2 == "fid" { t = $3 } $1 == "eval/probe/k8" && $2 == "fid" { k8 = $3 } $1 ~ /^eval\/probe\// && $1 !~ /teacher/ && $1 != "eval/probe/k8" && $2 == "fid" { n++; if (n == 1 || $3 < lo) { lo = $3; who = $1 } if ($3 > hi) hi = $3 }
    END { if (t != "" && n) { sub(/^eval\/probe\//, "", who); printf "The 4-step probe students span FID %.2f to %.2f against the teacher'"'"'s %.2f on the same seeds (ratios %.2fx to %.2fx); the best is %s.", lo, hi, t, lo / t, hi / t, who
      if (t != "" && k8 != "") printf " With 8 segments and 8 steps the same recipe reaches %.2f (%.2fx).", k8, k8 / t
      if (t != "" && n) printf "\n\n" } }' "$W/rec.tsv"
fi

# the target: FID(full FlowSteer, 4 steps) / FID(teacher, 32 steps, w*) and the accuracy gap, at the section-g sample
# count when measured, else at the ablation rows' count
target() {  # target FULL_FID FULL_ACC TEACHER_FID TEACHER_ACC N [WHO]
  awk -v full="$1" -v facc="$2" -v tf="$3" -v tacc="$4" -v n="$5" -v w="$W_STAR" -v who="${6:-full FlowSteer}" 'BEGIN {
    if (full == "-" || tf == "-") { printf "- Target (%s within 1.1x of the 32-step teacher): not measured.\n", who; exit }
    r = full / tf
    printf "- **Target at n = %s**: FID(%s, 4 NFE) / FID(teacher, 32 steps, w* = %s, 64 NFE) = %.2f / %.2f = **%.2fx** (target ≤ 1.1x: %s); class accuracy %.3f vs %.3f (%+.1f points; target ≥ −1 point: %s).\n",
           n, who, w, full, tf, r, (r <= 1.1 ? "met" : "not met"), facc, tacc, 100 * (facc - tacc), ((facc - tacc) >= -0.01 ? "met" : "not met") }'
}
if [ "$PAGE" = full ]; then
echo "## Which orderings hold"
echo
echo "A gap counts only when it exceeds the FID noise floor ($(fmt "$FLOOR" 2) at n = $FLOOR_N); rows with two training"
echo "seeds use their mean, and the seed range is given, which is often the larger source of noise."
echo
verdict A B "the fixed schedule helps PeRFlow (A → B)"
verdict B C "OTA helps (B → C, mild guidance)"
verdict C FULL "the adversarial stage helps (C → full FlowSteer)"
verdict C FM "feature matching alone helps (C → C + FM)"
verdict C ADVS "the adversarial term alone helps, fake = step (C → C + adv)"
verdict C ADVR "the adversarial term alone helps, fake = rollout (C → C + adv)"
verdict B FMPF "feature matching helps without OTA (B → B + FM)"
verdict BSTR CSTR "OTA helps under strong guidance (B → C at w ~ U[$(latest params/ strong_cfg_range)])"
verdict A FULL "full FlowSteer beats the PeRFlow baseline"
verdict REFLOW FULL "full FlowSteer beats ReFlow"
echo
target "$(rowfid FULL | cut -f1)" "$(rowacc FULL)" "$(get eval/abl/teacher-32 fid)" "$(get eval/abl/teacher-32 class_accuracy)" "$(get eval/abl/teacher-32 num_samples)"
if [ "$(get eval/head/FULL-s0 fid)" != - ] && [ "$(get eval/head/FULL-s0 num_samples)" != "$(get eval/abl/teacher-32 num_samples)" ]; then
  target "$(get eval/head/FULL-s0 fid)" "$(get eval/head/FULL-s0 class_accuracy)" "$(get eval/head/teacher-32 fid)" "$(get eval/head/teacher-32 class_accuracy)" "$(get eval/head/FULL-s0 num_samples)"
fi
else
echo "## The target"
echo
fi
if [ "$(get eval/head/tuned-s0 fid)" != - ]; then
  target "$(get eval/head/tuned-s0 fid)" "$(get eval/head/tuned-s0 class_accuracy)" "$(get eval/head/teacher-32 fid)" "$(get eval/head/teacher-32 class_accuracy)" "$(get eval/head/tuned-s0 num_samples)" "tuned FlowSteer (section h)"
fi
# section i's students measured at the target's sample count (the combined probe and its finer-bank variants)
probe_seed=$(latest params-probes/ parameters | sed -n 's/.*PROBE_EVAL_SEED=\([0-9]*\).*/\1/p')
for k in $(keys probes-head); do
  [ "$k" != eval/probe-head/teacher-32 ] || continue
  target "$(get "$k" fid)" "$(get "$k" class_accuracy)" "$(get eval/probe-head/teacher-32 fid)" "$(get eval/probe-head/teacher-32 class_accuracy)" "$(get "$k" num_samples)" "section i's $(get "$k" label), on unseen seeds from $probe_seed"
done
# trajectory MSE: is the full model the lowest among the 4-step students?
awk -F '\t' '$1 ~ /^traj\/abl\// && $1 !~ /teacher/ && $2 == "mse" { k = $1; sub(/^traj\/abl\//, "", k); sub(/-s[0-9]+$/, "", k); s[k] += $3; n[k]++ }
  END { best = ""; for (k in s) { m = s[k] / n[k]; if (best == "" || m < bm) { best = k; bm = m } }
        if (best != "") printf "- Lowest trajectory MSE among the 4-step students: %s (%.4f; the paper expects the full model, with OTA, to be lowest; full: %s).\n",
                              best, bm, ("FULL" in s) ? sprintf("%.4f", s["FULL"] / n["FULL"]) : "not measured" }' "$W/rec.tsv"
echo
echo "Not measured by this script, and why: raw (non-EMA) student weights (no tool samples a checkpoint's \`model.*\`"
echo "weights; every store reference samples EMA), and 10k-sample FIDs for rows other than section g's (time budget)."
} > "$RESULTS_MD.part"
mv -f "$RESULTS_MD.part" "$RESULTS_MD"
fs_log "wrote $RESULTS_MD${PLOT:+ and $PLOT}"
