#!/usr/bin/env bash
# The paper's ablation reproduced at MNIST scale: the rows of jobs/tables/mnist.rows (one tool command a
# line) run by jobs/rows.sh, then the page's marked blocks rendered from the store by `fs-store report`.
#
#   bash jobs/ablation.sh                  # full run (hours on 2 shared cores), then docs/results.md
#   bash jobs/ablation.sh --quick          # smoke run (a few minutes): tiny counts, page $OUT/results.md
#   bash jobs/ablation.sh --results-only [--quick]   # only render the page from the store
#   ONLY=tuned bash jobs/ablation.sh       # some sections only (comma-separated: sweep, t2, t1, chain,
#                                          # beyond, seeds, headline, tuned, probes, budget,
#                                          # adversarial), page $OUT/results.md
#   LANES=2 bash jobs/ablation.sh          # the rows in 2 processes sharing the store (rows.sh --lanes)
#
# Every row is skipped when its result is in the store, so a rerun after a kill continues where it
# stopped (interrupted banks and students continue with --resume). Environment: OUT (default
# out/ablation, --quick out/ablation-quick), STORE (default $OUT/ablation.db), THREADS (default all
# cores, or the cores / LANES; --quick 1), RESULTS_MD (the page), FS_BIN, and any param of the table (e.g.
# EVAL_N=2000).
set -euo pipefail
cd "$(dirname "$0")/.."
. jobs/lib.sh
FS_JOB=ablation

QUICK=() RESULTS_ONLY=0
for arg in "$@"; do
  case $arg in
    --quick) QUICK=(--quick) ;;
    --results-only) RESULTS_ONLY=1 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) fs_die "unknown argument '$arg' (use --quick, --results-only, --help)" ;;
  esac
done
TABLE=jobs/tables/mnist.rows
if [ ${#QUICK[@]} -gt 0 ]; then export OUT=${OUT:-out/ablation-quick} THREADS=${THREADS:-1}
else export OUT=${OUT:-out/ablation}; fi
export STORE=${STORE:-$OUT/ablation.db}
# The full page keeps its grids beside it; a smoke or one-section page lives in OUT.
if [ ${#QUICK[@]} -eq 0 ] && [ -z "${ONLY:-}" ]; then
  RESULTS_MD=${RESULTS_MD:-docs/results.md}
  if [ "$RESULTS_MD" = docs/results.md ]; then export GRIDS=${GRIDS:-docs/results/grids}; else export GRIDS=${GRIDS:-$OUT/grids}; fi
else
  RESULTS_MD=${RESULTS_MD:-$OUT/results.md}
  export GRIDS=${GRIDS:-$(dirname "$RESULTS_MD")/results/grids}
fi

if [ "$RESULTS_ONLY" = 0 ]; then
  bash jobs/rows.sh "${QUICK[@]}" ${ONLY:+--only "$ONLY"} ${LANES:+--lanes "$LANES"} "$TABLE"
fi
fs_tools fs-store
[ -f "$STORE" ] || fs_die "no store at $STORE (run the ablation first, or set STORE/OUT)"
# A page outside docs/ starts from docs/results.md (the narrative and the blocks), marked as what it is.
if [ "$RESULTS_MD" != docs/results.md ]; then
  mkdir -p "$(dirname "$RESULTS_MD")"
  { sed -n '1p' docs/results.md; echo
    if [ ${#QUICK[@]} -gt 0 ]; then
      echo "> **SMOKE RUN (\`--quick\`).** Tiny sample counts and a few training steps: these numbers only show that"
      echo "> the pipeline runs end to end. They say nothing about the method."
    fi
    [ -z "${ONLY:-}" ] || echo "> Sections run: **${ONLY}** (ONLY=$ONLY); rows of other sections show dashes unless the store holds them."
    echo "> Rendered from the store \`$STORE\` by \`fs-store report\` on $(date -u '+%Y-%m-%d %H:%M UTC')."
    sed '1d; /^> \*\*Numbers from the previous pipeline/,/^$/d' docs/results.md; } > "$RESULTS_MD.part"
  mv -f "$RESULTS_MD.part" "$RESULTS_MD"
fi
fs-store report --store "$STORE" --table "$TABLE" --page "$RESULTS_MD" --grids "$GRIDS" "${QUICK[@]}"
fs_log "wrote $RESULTS_MD"
