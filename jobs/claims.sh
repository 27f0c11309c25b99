# Claims for `rows.sh --share` (source it): several rows.sh processes on one table and one store (the tasks of a
# Slurm job on one node, two shells) split the table's commands between them. A process claims a command before
# running it: a directory in STORE.claims/ named after what the command makes (a bank, a run, an evaluation key, a
# grid file), holding "HOST PID START" of the rows.sh process (START: the process's start time, so a reused pid is
# not taken for the claimant). mkdir makes a claim atomic. A claim whose process is gone is stale: the next process
# that meets it moves it aside (one rename wins) and claims the command itself. A store is used on one host
# (docs/operations.md), so a claim made on another host is an error that names it, never a wait.
#
#   claims_init STORE      claims live in STORE.claims/ from now on
#   claim KEY              0: claimed (CLAIM_HELD); 1: another live process holds it (CLAIM_OWNER: "host pid start")
#   claim_release          drops the claim held (also on exit)
#   claims_wait KEY...     returns when one of the KEYs is no longer claimed by a live process
# Environment: FS_CLAIM_POLL (seconds between looks while waiting, default 20).

CLAIMS_DIR="" CLAIM_HELD="" CLAIM_OWNER="" CLAIM_ME=""

# proc_start PID: the process's start time in clock ticks since boot (field 22 of /proc/PID/stat, read after the
# command name, which may hold spaces); empty when there is no such process.
proc_start() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $20 }'; }

claims_init() {
  CLAIMS_DIR=$1.claims
  mkdir -p "$CLAIMS_DIR" || fs_die "cannot make the claims directory $CLAIMS_DIR"
  CLAIM_ME="$(hostname) $$ $(proc_start $$)"
  trap claim_release EXIT
}

# claim_path KEY: the claim's directory ('%' and '/' escaped, so that a key is one readable file name).
claim_path() { local k=${1//%/%25}; printf '%s/%s' "$CLAIMS_DIR" "${k//\//%2F}"; }

# claim_live HOST PID START: is the claimant alive? A claim from another host stops the run (exit 2).
claim_live() {
  if [ "$1" != "$(hostname)" ]; then
    echo "rows.sh: $CLAIMS_DIR holds a claim made on host '$1' (pid $2): a store is used on one host at a time (docs/operations.md); if that host's run is over, remove $CLAIMS_DIR" >&2
    exit 2
  fi
  [ -n "${3:-}" ] && [ "$(proc_start "$2")" = "$3" ]
}

claim() {
  local d owner try
  d=$(claim_path "$1")
  for try in 1 2 3; do
    if mkdir "$d" 2>/dev/null; then
      printf '%s\n' "$CLAIM_ME" > "$d/owner.tmp" && mv "$d/owner.tmp" "$d/owner"
      CLAIM_HELD=$d; return 0
    fi
    owner=$(cat "$d/owner" 2>/dev/null) || { sleep 1; owner=$(cat "$d/owner" 2>/dev/null) || owner=""; }   # being written
    # shellcheck disable=SC2086 # the owner's three words
    if [ -n "$owner" ] && claim_live $owner; then CLAIM_OWNER=$owner; return 1; fi
    # stale (its process is gone, or it died before writing its owner): one process wins the rename
    if mv "$d" "$CLAIMS_DIR/.stale.$$" 2>/dev/null; then
      rm -rf "$CLAIMS_DIR/.stale.$$"
      fs_log "claim $1: taken over from ${owner:-a process that died while claiming it} (no longer running)"
    fi
  done
  CLAIM_OWNER=${owner:-unknown}; return 1
}

claim_release() { [ -z "$CLAIM_HELD" ] || rm -rf "$CLAIM_HELD"; CLAIM_HELD=""; }

claims_wait() {
  local key d owner since=$SECONDS
  [ $# -gt 0 ] || { sleep "${FS_CLAIM_POLL:-20}"; return 0; }
  fs_log "waiting for what other processes are running: $*"
  while :; do
    for key in "$@"; do
      d=$(claim_path "$key")
      owner=$(cat "$d/owner" 2>/dev/null) || return 0   # released
      # shellcheck disable=SC2086
      claim_live $owner || return 0                         # its process is gone: the next pass takes it over
    done
    sleep "${FS_CLAIM_POLL:-20}"
    if [ $((SECONDS - since)) -ge 600 ]; then since=$SECONDS; fs_log "still waiting for: $*"; fi
  done
}
