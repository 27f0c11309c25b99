#!/usr/bin/env bash
# Ships a checkpoint from a store into models/: the exported file (EMA weights, PyTorch names; `fs-store export`)
# and its provenance JSON, written from what the store recorded (the producing command, code revision, training
# config, teacher and bank hashes, data) and from a stored evaluation of it (FID with its interval, KID, class
# accuracy, samples, seed). Nothing in the JSON is typed by hand except WHAT and RESULTS.
#   STORE=runs/x.db bash jobs/ship_model.sh RUN NAME EVAL "WHAT" "RESULTS"
#   e.g. STORE=runs/mnist-budget.db bash jobs/ship_model.sh bud-reflow-K_s3_fixed-s0 student-reflow-4 \
#          mnist/budget/test/reflow-s0 "ReFlow student, equal budget" "docs/results.md, section j"
# Writes models/NAME.safetensors and models/NAME.json (MODELS=DIR elsewhere; refuses to overwrite unless FORCE=1).
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
[ $# -eq 5 ] || { sed -n 2,9p "$0" >&2; exit 2; }
RUN=$1 NAME=$2 EVAL=$3 WHAT=$4 RESULTS=$5
STORE=${STORE:?STORE: the store holding RUN and EVAL}
fs_tools fs-store
out=${MODELS:-$FS_ROOT/models}/$NAME
if [ -e "$out.safetensors" ] && [ "${FORCE:-0}" != 1 ]; then fs_die "$out.safetensors exists (FORCE=1 replaces it)"; fi
ck=$(fs-store show --store "$STORE" "$RUN" --json) || fs_die "no checkpoint '$RUN' in $STORE"
ev=$(fs-store show --store "$STORE" "$EVAL" --json) || fs_die "no evaluation '$EVAL' in $STORE"
[ "$(jq -r .kind <<< "$ck")" = checkpoint ] || fs_die "'$RUN' is not a checkpoint"
[ "$(jq -r .metadata.fid <<< "$ev")" != null ] || fs_die "'$EVAL' holds no FID"
# The evaluation must be of this checkpoint (its lineage names it).
jq -e --argjson id "$(jq .id <<< "$ck")" '.parents | index($id)' <<< "$ev" > /dev/null \
  || fs_die "'$EVAL' was not computed from '$RUN' (#$(jq .id <<< "$ck"))"
fs-store export --store "$STORE" "$RUN" -o "$out.safetensors.tmp" > /dev/null
mv "$out.safetensors.tmp" "$out.safetensors"
jq -n --arg file "$NAME.safetensors" --arg what "$WHAT" --arg results "$RESULTS" --arg store "$STORE" \
  --arg date "$(date -u +%F)" --arg sha "$(sha256sum "$out.safetensors" | cut -d' ' -f1)" \
  --argjson ck "$ck" --argjson ev "$ev" '{
    file: $file, what: $what, sha256: $sha,
    config: $ck.metadata.config,
    run: $ck.run, step: $ck.step, checkpoint_hash: $ck.hash, code_rev: $ck.code_rev,
    command: ($ck.metadata.producer.command | join(" ")),
    train_config: ($ck.metadata.train_config // $ck.config),
    kind: $ck.metadata.kind, method: $ck.metadata.method, schedule: $ck.metadata.schedule,
    shift: $ck.metadata.shift, sigmas: $ck.metadata.sigmas,
    teacher_hash: $ck.metadata.teacher_hash, bank_hash: $ck.metadata.bank_hash,
    data: ($ck.metadata.data // $ck.metadata.train_config.data),
    measured: {evaluation: $ev.name, fid: $ev.metadata.fid, fid_ci95: $ev.metadata.fid_ci95,
               kid: $ev.metadata.kid, class_accuracy: $ev.metadata.class_accuracy,
               num_samples: $ev.metadata.num_samples, seed: $ev.metadata.seed, steps: $ev.metadata.steps,
               nfe: $ev.metadata.nfe, cfg: $ev.metadata.cfg, feature_network: $ev.metadata.feature_network_name,
               reference: $ev.metadata.reference, interval: $ev.metadata.interval},
    results: $results,
    made_by: ("jobs/ship_model.sh from store " + $store + " on " + $date),
    check: ("fs-eval --checkpoint models/" + $file + " --num-samples " + ($ev.metadata.num_samples | tostring)
            + " --seed " + ($ev.metadata.seed | tostring) + " --json  # prints the measured numbers")
  } | with_entries(select(.value != null))' > "$out.json"
fs_log "wrote $out.safetensors and $out.json (FID $(fs_num "$(jq -r .metadata.fid <<< "$ev")" 2) on $EVAL)"
