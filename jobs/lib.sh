# Shared helpers for the job scripts (source it: `. "$(dirname "$0")/lib.sh"`).
#
#   fs_tools [tool...]     find (or build) the release tools and put them on PATH (sets FS_BIN)
#   fs_run VAR tool args   run a tool with --json, keep its stdout JSON in $VAR; retries exit 4 (busy)
#   fs_num V DIGITS / fs_kid V   a metric rounded for human output (fs_kid explains a negative KID)
#   json_require FIELD JSON   a top-level field of a tool's --json output; fs_die if it is missing
#   fs_log / fs_warn / fs_die   timestamped messages on stderr (fs_die exits 1)
#   fs_exit_meaning CODE   the documented meaning of a tool exit code
#
# Environment: FS_BIN (directory holding fs-*; skips the lookup), FS_CODE_REV (recorded in artifacts; default: git HEAD), FS_SCRATCH (swift --scratch-path
# for the release build, default .build), FS_BUSY_RETRIES (default 5), FS_JOB (log prefix).
# JSON is read with jq (Debian package `jq`, installed by jobs/setup.sh): `jq -r '.fid // empty'`.

FS_ROOT=${FS_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
FS_JOB=${FS_JOB:-$(basename "${0:-job}" .sh)}

fs_log()  { printf '%s %s: %s\n' "$(date '+%F %T')" "$FS_JOB" "$*" >&2; }
fs_warn() { printf '%s %s: WARNING: %s\n' "$(date '+%F %T')" "$FS_JOB" "$*" >&2; }
fs_die()  { printf '%s %s: ERROR: %s\n' "$(date '+%F %T')" "$FS_JOB" "$*" >&2; exit 1; }
command -v jq >/dev/null 2>&1 || fs_die "jq is not installed (apt-get install jq; jobs/setup.sh installs it)"

fs_exit_meaning() {
  case "$1" in
    0) echo "ok" ;;
    1) echo "failure" ;;
    2) echo "usage error" ;;
    3) echo "bad input (missing/unknown/wrong-kind/corrupt artifact or file)" ;;
    4) echo "store busy (retryable)" ;;
    5) echo "diverged (NaN or exploding loss; last good checkpoint kept)" ;;
    137) echo "killed (SIGKILL)" ;;
    *) echo "exit $1" ;;
  esac
}

# fs_tools [tool...]: sets FS_BIN to the directory of the release tools, building the missing ones
# (`swift build -c release --product fs-X`), and prepends it to PATH. Default tools: all six.
fs_tools() {
  local tools=("$@") t missing=() given=${FS_BIN:+1}
  [ ${#tools[@]} -gt 0 ] || tools=(fs-train fs-rollout fs-distill fs-sample fs-eval fs-store)
  if [ -z "$given" ]; then
    command -v swift >/dev/null 2>&1 || fs_die "swift is not on PATH and FS_BIN is not set (run jobs/setup.sh first)"
    FS_BIN=$(cd "$FS_ROOT" && swift build -c release --scratch-path "${FS_SCRATCH:-$FS_ROOT/.build}" --show-bin-path) \
      || fs_die "swift build --show-bin-path failed in $FS_ROOT"
  fi
  for t in "${tools[@]}"; do [ -x "$FS_BIN/$t" ] || missing+=("$t"); done
  if [ ${#missing[@]} -gt 0 ]; then
    [ -z "$given" ] || fs_die "FS_BIN=$FS_BIN lacks ${missing[*]} (build them, or unset FS_BIN to build here)"
    fs_log "building ${missing[*]} (release) ..."
    for t in "${missing[@]}"; do
      (cd "$FS_ROOT" && swift build -c release --scratch-path "${FS_SCRATCH:-$FS_ROOT/.build}" --product "$t" 2>&1 | tail -5) >&2
      [ -x "$FS_BIN/$t" ] || fs_die "could not build $t (see the compiler output above)"
    done
  fi
  export FS_BIN PATH="$FS_BIN:$PATH"
  # Tools built from this checkout: every artifact they write records its git revision (the store reads
  # FS_CODE_REV), "+dirty" when tracked files differ from it. With FS_BIN given, set FS_CODE_REV yourself.
  if [ -z "$given" ] && [ -z "${FS_CODE_REV:-}" ] && git -C "$FS_ROOT" rev-parse --git-dir >/dev/null 2>&1; then
    FS_CODE_REV=$(git -C "$FS_ROOT" rev-parse --short=12 HEAD)
    git -C "$FS_ROOT" diff --quiet HEAD -- 2>/dev/null || FS_CODE_REV+="+dirty"
    export FS_CODE_REV
  fi
}

# fs_num VALUE DIGITS: a metric for people (the JSON files keep full precision), e.g. fs_num "$fid" 3.
fs_num() { awk -v v="$1" -v d="$2" 'BEGIN { if (v == "") print "-"; else printf "%.*f\n", d, v }'; }
# fs_kid VALUE: KID with 5 decimals; a negative value is explained (it is an unbiased estimate of a
# squared distance, so it dips below 0 when the sets are closer than its noise resolves).
fs_kid() { awk -v v="$1" 'BEGIN { if (v == "") print "-"; else printf "%.5f%s\n", v, (v < 0 ? " (negative: below the estimator'"'"'s noise)" : "") }'; }

# json_require FIELD JSON-TEXT: a top-level field of a tool's JSON output (jq); fails loudly if it is missing.
json_require() {
  local v
  v=$(jq -r --arg k "$1" '.[$k] // empty' <<<"$2")
  [ -n "$v" ] || fs_die "expected field '$1' in tool output: $2"
  printf '%s\n' "$v"
}

# fs_run VAR tool args...: runs `tool args... --json`, stores its stdout in VAR, logs the command,
# retries exit 4 (busy store) with backoff; on failure logs the meaning of the exit code and
# returns it (so `set -e` callers stop, and `if fs_run ...` callers can branch).
fs_run() {
  local __fs_var=$1; shift
  local __fs_tool=$1 __fs_out __fs_rc __fs_try=0 __fs_retries=${FS_BUSY_RETRIES:-5}
  fs_log "\$ $* --json"
  while :; do
    __fs_rc=0
    __fs_out=$("$@" --json) || __fs_rc=$?
    if [ "$__fs_rc" -eq 4 ] && [ "$__fs_try" -lt "$__fs_retries" ]; then
      __fs_try=$((__fs_try + 1))
      fs_warn "$__fs_tool: store busy (exit 4), retry $__fs_try/$__fs_retries in $((__fs_try * 5)) s"
      sleep $((__fs_try * 5))
      continue
    fi
    break
  done
  printf -v "$__fs_var" '%s' "$__fs_out"
  if [ "$__fs_rc" -ne 0 ]; then
    fs_warn "$__fs_tool exited $__fs_rc: $(fs_exit_meaning "$__fs_rc")"
    return "$__fs_rc"
  fi
  return 0
}

# fs_elapsed START_EPOCH: "Ns" since START_EPOCH (date +%s).
fs_elapsed() { echo "$(( $(date +%s) - $1 ))s"; }

# --- stores on clusters -------------------------------------------------------------------------
# A store is one SQLite file in WAL mode: it needs a local filesystem while a tool has it open.
# Jobs therefore work on a node-local copy and publish it atomically (docs/operations.md).

# fs_local_dir: a per-job directory on node-local disk ($FS_NODE_SCRATCH, else $TMPDIR, else /tmp).
fs_local_dir() {
  local d="${FS_NODE_SCRATCH:-${TMPDIR:-/tmp}}/fs-${SLURM_JOB_ID:-$$}${SLURM_ARRAY_TASK_ID:+-$SLURM_ARRAY_TASK_ID}"
  mkdir -p "$d" && printf '%s\n' "$d"
}

# fs_stage_in SHARED LOCAL: copy a published store to local disk (nothing if it does not exist yet).
fs_stage_in() {
  rm -f "$2" "$2-wal" "$2-shm"
  if [ -f "$1" ]; then
    cp "$1" "$2.part" && mv -f "$2.part" "$2"
    fs_log "staged in $1 -> $2"
  fi
}

# fs_stage_out LOCAL SHARED: verify the local store (which also folds the WAL into the file), then
# publish it with an atomic rename, so readers of SHARED see the old or the new store, never half.
fs_stage_out() {
  local out
  fs_run out fs-store verify --store "$1" || fs_die "store $1 does not verify; not publishing it to $2"
  [ ! -s "$1-wal" ] || fs_die "store $1 still has a write-ahead log after closing; not publishing it"
  mkdir -p "$(dirname "$2")"
  cp "$1" "$2.part.$$" && mv -f "$2.part.$$" "$2"
  fs_log "published $1 -> $2"
}
