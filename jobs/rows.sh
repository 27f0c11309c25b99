#!/usr/bin/env bash
# Runs a row table (jobs/tables/*.rows): each row is one tool command, run in order, skipped when its
# result is already in the store, so a rerun after a kill continues where it stopped. The log names each
# command's place among those the run may execute ("rows [12/84]: ..."); --dry-run lists what is left.
#
#   STORE=runs/abl.db THREADS=2 bash jobs/rows.sh jobs/tables/fashion-mnist.rows
#   bash jobs/rows.sh [--quick] [--only SECTION[,SECTION]] [--dry-run] [--share | --lanes N] TABLE
#
# --share: other rows.sh processes may run the same table on the same store at once (a Slurm job's tasks on one
# node, two shells); each claims a command before running it (jobs/claims.sh: STORE.claims/), passes over one that
# another live process has claimed and every later command that needs what it makes, and at the end waits for those
# and goes through the table again, until every row is done. The results are those of one process alone.
# --lanes N: starts N such processes here (each line of lane K's log starts "[lane K]") and waits for them; THREADS
# each (default: the cores / N); exits with the first failing lane's code.
#
# The format (jobs/tables/README.md): one row a line, '#' comments, words split as xargs splits them
# (quotes group, no expansion except ${NAME}: a param, else an environment variable):
#   param NAME FULL [QUICK]    ${NAME} in later rows; the environment overrides it, --quick picks QUICK;
#                              the first definition holds (a table sets one before an include to override it)
#   section NAME               later rows belong to NAME (--only runs the named sections and the rows
#                              before the first section)
#   include FILE               FILE's lines here (FILE relative to this table; sections shared by tables)
#   import NAME FILE           fs-store import FILE --name NAME, unless NAME is stored
#   run TOOL ARGS...           fs-rollout (skipped when bank --name is complete), fs-distill / fs-train
#                              (skipped when --run R at --steps N is stored), fs-sample (skipped when
#                              its --png / --save-tensors file exists), anything else always runs.
#                              A bank, run or kept sample set that later commands use is also skipped
#                              when every one of them is done: its evaluations came from a ledger (`fs-store restore`
#                              of `fs-store archive --shallow`), or it was removed after use
#   row TABLE ORDER LABEL [KEY=VALUE...] fs-eval ... --name KEY
#                              an evaluation (skipped when eval_result KEY is stored); TABLE, ORDER,
#                              LABEL and the attributes (series=S: a plot line) are for `fs-store report`;
#                              quick=no: left out of --quick runs (and pages)
#   select NAME PREFIX CHOICE...
#                              model selection: NAME = the CHOICE (each a param) whose evaluation
#                              PREFIX<CHOICE> has the lowest FID, NAME_ARGS = that param's value;
#                              NAME=CHOICE in the environment fixes it. In --dry-run, and in a section
#                              --only leaves out whose evaluations are missing, it is the first CHOICE,
#                              and a row that would run with it exits 2 (name the choice instead)
#   compare TABLE TEXT WORSE BETTER / target TABLE WHO KEY REFERENCE RATIO
#                              claims `fs-store report` decides (ignored here)
# Relative paths (in the table, STORE) are relative to the repository root.
# Environment: STORE (default: the param STORE, else runs/rows.db), THREADS (added as --threads to
# every tool; default: the param THREADS, else all cores), FS_BIN (the tools; default: built here).
# Exit: 0 all rows done, 2 usage or a malformed table (the line is named), else the failing tool's code.
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$FS_ROOT/jobs/claims.sh"
FS_JOB=rows

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; }   # the header comment
QUICK=0 ONLY="" DRY=0 SHARE=0 LANES=1 TABLE=""
while [ $# -gt 0 ]; do
  case $1 in
    --quick) QUICK=1 ;;
    --only) [ $# -ge 2 ] || { echo "rows.sh: --only needs a section list" >&2; exit 2; }; ONLY=$2; shift ;;
    --dry-run) DRY=1 ;;
    --share) SHARE=1 ;;
    --lanes) [ $# -ge 2 ] && [[ $2 =~ ^[1-9][0-9]*$ ]] || { echo "rows.sh: --lanes needs a count of processes (1 or more)" >&2; exit 2; }
             LANES=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "rows.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) [ -z "$TABLE" ] || { echo "rows.sh: one table only ('$TABLE', '$1')" >&2; exit 2; }; TABLE=$1 ;;
  esac
  shift
done
[ -n "$TABLE" ] || { usage >&2; exit 2; }
[ -f "$TABLE" ] || { echo "rows.sh: no table file '$TABLE'" >&2; exit 2; }
TABLE=$(cd "$(dirname "$TABLE")" && pwd)/$(basename "$TABLE")
cd "$FS_ROOT"   # relative paths in tables and in STORE are relative to the repository

bad() { echo "rows.sh: $FILE_T:$LINENO_T: $*" >&2; exit 2; }

# expand TEXT: ${NAME} replaced by the param's value (an unknown name is an error naming the line).
expand() {
  local s=$1 out="" name
  while [[ $s =~ ^([^$]*)\$\{([A-Za-z_][A-Za-z0-9_]*)\}(.*)$ ]]; do
    name=${BASH_REMATCH[2]}
    [ -n "${!name+x}" ] || bad "\${$name} is not a param (define it with 'param $name VALUE' above) nor set in the environment"
    out+=${BASH_REMATCH[1]}${!name}; s=${BASH_REMATCH[3]}
  done
  printf '%s' "$out$s"
}
# words TEXT: the words of TEXT, NUL-separated, split and unquoted as the shell does (xargs), no expansion.
words() { printf '%s\n' "$1" | xargs printf '%s\0'; }

# opt NAME ARGS...: the value of option NAME in ARGS (empty when absent).
opt() { local n=$1; shift; while [ $# -gt 0 ]; do [ "$1" = "$n" ] && { printf '%s' "${2:-}"; return; }; shift; done; }
has() { local n=$1; shift; local a; for a in "$@"; do [ "$a" = "$n" ] && return 0; done; return 1; }

# The store's listing (`fs-store ls`: ID KIND NAME STEP SIZE HASH STATE), read again after every command
# that may add to it, so checking a row costs no tool start.
LISTING=""
refresh() { LISTING=$(fs-store ls --store "$STORE" 2>/dev/null || true); }
listed() {  # listed KIND NAME [STATE]
  awk -v k="$1" -v n="$2" -v st="${3:-}" 'NR > 1 && $2 == k && $3 == n && (st == "" || $NF == st) { f = 1 } END { exit !f }' <<<"$LISTING"
}
stored() { awk -v n="$1" 'NR > 1 && $3 == n { f = 1 } END { exit !f }' <<<"$LISTING"; }
bank_complete() { listed trajectory_bank "$1" complete; }

# done_already TOOL ARGS...: is this command's result in the store (or on disk)?
done_already() {
  local tool=$1; shift
  local v
  case $tool in
    fs-rollout) v=$(opt --name "$@"); [ -n "$v" ] && bank_complete "$v" ;;
    fs-distill|fs-train) v=$(opt --run "$@"); local s; s=$(opt --steps "$@")
                         [ -n "$v" ] && [ -n "$s" ] && listed checkpoint "$v@$s" ;;
    fs-eval) v=$(opt --name "$@"); [ -n "$v" ] && listed eval_result "$v" ;;
    fs-sample) v=$(opt --png "$@"); [ -n "$v" ] || v=$(opt --save-tensors "$@"); [ -n "$v" ] && [ -s "$v" ] ;;
    *) return 1 ;;
  esac
}

# choose NAME PREFIX CHOICE...: set NAME (and NAME_ARGS) to the CHOICE whose stored evaluation PREFIX<CHOICE>
# has the lowest FID, or to NAME's value in the environment; pass 1 and --dry-run take the first CHOICE (the
# evaluations may not exist yet). A choice that could not be made is PROVISIONAL: rows that use it stop.
declare -A FROM_ENV=() PROVISIONAL=() SELECTS=() PLAN_OPEN=()
choose() {
  local name=$1 prefix=$2; shift 2
  SELECTS[$name]=1
  local c best=$1 fid best_fid="" summary=""
  for c in "$@"; do [ -n "${!c+x}" ] || bad "select: choice '$c' is not a param"; done
  if [ "$PASS" = 1 ] && [ -n "${!name+x}" ] && [ -z "${FROM_ENV[$name]+x}" ]; then
    has "${!name}" "$@" || bad "select $name: the environment's $name='${!name}' is not one of its choices ($*)"
    FROM_ENV[$name]=${!name}
  fi
  if [ -n "${FROM_ENV[$name]+x}" ]; then
    best=${FROM_ENV[$name]}
    [ "$PASS" != 2 ] || fs_log "select $name = $best (set in the environment)"
  elif [ "$PASS" = plan ] || { [ "$PASS" = 2 ] && [ "$DRY" = 0 ]; }; then
    for c in "$@"; do
      fid=$(fs-store show --store "$STORE" --json "eval_result:$prefix$c" 2>/dev/null | jq -r '.metadata.fid // empty') || true
      if [ -z "$fid" ] && [ "$PASS" = plan ]; then
        # the plan's guess: open, so rows using NAME may use any choice
        PLAN_OPEN[$name]="$*"; best=$1; break
      elif [ -z "$fid" ] && [ -n "${WAITING[eval_result:$prefix$c]:-}" ]; then
        # --share: another process is evaluating this trial; rows that use NAME wait for the next pass
        WAITING_SEL[$name]=1 best=$1 summary=" later: $prefix$c is being evaluated by another process"
        break
      elif [ -z "$fid" ]; then
        # a section left out by --only whose evaluations are missing: its rows do not run, nor may any that use NAME
        [ "$SKIPPED" = 1 ] || bad "select $name: evaluation '$prefix$c' is not stored (run its section first)"
        best=$1 summary=" not stored; provisional, no row may use it"
        PROVISIONAL[$name]="'select $name' (section $SECTION_T, left out by --only) has no stored evaluation $prefix$c: run that section first, or name the choice in the environment ($name=CHOICE, one of: $*)"
        break
      fi
      summary+=" $c $fid"
      if [ -z "$best_fid" ] || awk -v a="$fid" -v b="$best_fid" 'BEGIN { exit !(a < b) }'; then best=$c best_fid=$fid; fi
    done
    if [ -n "${WAITING_SEL[$name]:-}" ]; then fs_log "select $name:$summary"
    elif [ "$PASS" != plan ]; then fs_log "select $name = $best (FID of ${prefix}*:$summary)"; fi
  fi
  printf -v "$name" '%s' "$best"; printf -v "${name}_ARGS" '%s' "${!best}"
}

# execute TOOL ARGS...: run one row's command (with --threads), skipped when its result is stored. The log's
# job name carries the command's place among those the run may execute: "rows [k/N]".
N_RUN=0 N_SKIP=0 N_NEEDLESS=0 N_DEFER=0 N_TOTAL=0
execute() {
  local tool=$1; shift
  local n=$((N_RUN + N_SKIP + N_DEFER + 1))
  local FS_JOB="rows [$n/$N_TOTAL]"
  case $tool in fs-*) ;; *) bad "'$tool' is not a FlowSteer tool (fs-...)" ;; esac
  local k=${K2PLAN[$n]:-0} p
  for p in "${!WAITING_SEL[@]}"; do   # --share: its words hold a guess until the select can choose
    if [[ $ROW_RAW == *"\${$p}"* || $ROW_RAW == *"\${${p}_ARGS}"* ]]; then
      defer "$k" "$tool" "$@"; fs_log "later (uses select $p, whose trials another process is evaluating): $tool"; return 0
    fi
  done
  if done_already "$tool" "$@"; then N_SKIP=$((N_SKIP + 1)); fs_log "skip (stored): $tool $*"; return 0; fi
  if [ -n "${PLAN_NEEDLESS[$k]:-}" ]; then
    N_SKIP=$((N_SKIP + 1)) N_NEEDLESS=$((N_NEEDLESS + 1)); fs_log "skip (not needed: every later command that uses ${PLAN_NEEDLESS[$k]} is done): $tool $*"; return 0
  fi
  has --threads "$@" || set -- "$@" --threads "$THREADS"
  local f; for f in "$(opt --png "$@")" "$(opt --save-tensors "$@")"; do [ -z "$f" ] || mkdir -p "$(dirname "$f")"; done
  if [ -n "$CLAIMS_DIR" ]; then
    local why key; why=$(waits_for "$k")
    if [ -n "$why" ]; then defer "$k" "$tool" "$@"; fs_log "later (needs $why, which another process is making): $tool $*"; return 0; fi
    key=$(claim_key "$k" "$tool" "$@")
    if [ -n "$key" ] && ! claim "$key"; then
      defer "$k" "$tool" "$@"; DEFER_ON+=("$key")
      fs_log "later (another process runs it: ${CLAIM_OWNER% *}): $tool $*"; return 0
    fi
    refresh   # it may have been finished by the process that held it a moment ago
    if done_already "$tool" "$@"; then claim_release; N_SKIP=$((N_SKIP + 1)); fs_log "skip (stored by another process): $tool $*"; return 0; fi
  fi
  N_RUN=$((N_RUN + 1))
  if [ "$DRY" = 1 ]; then fs_log "would run: $tool $*"; return 0; fi
  local out t0; t0=$(date +%s)
  fs_run out "$tool" "$@" || exit $?   # the tool's own exit code (3 bad input, 4 busy, 5 diverged)
  claim_release
  fs_log "done in $(fs_elapsed "$t0"): $tool $*"
  refresh
}

# --share: a claim's key is what the command makes: the plan's product (a bank, run or kept sample set), else the
# evaluation key (eval_result:KEY) or the grid file (file:PATH); empty for a command that makes nothing.
claim_key() {
  local k=$1 tool=$2 v; shift 2
  read -r v _ <<< "${P_PROD[$k]:-}"   # the first of its products (fs-sample's --name may be empty)
  if [ -z "$v" ] && [ "$tool" = fs-eval ]; then v=$(opt --name "$@"); [ -z "$v" ] || v=eval_result:$v; fi
  if [ -z "$v" ] && [ "$tool" = fs-sample ]; then v=$(opt --png "$@"); [ -z "$v" ] || v=file:$v; fi
  printf '%s' "$v"
}
# waits_for K: a name plan command K uses that a command passed over in this pass makes; empty when it needs
# nothing from the others. (WAITING_SEL: selects whose trials another process is evaluating.)
declare -A WAITING=() WAITING_SEL=()
DEFER_ON=() ROW_RAW=""
waits_for() {
  local - u; set -f
  for u in ${P_USES[$1]:-}; do [ -z "${WAITING[$u]:-}" ] || { printf '%s' "$u"; return 0; }; done
  return 0
}
# defer K TOOL ARGS...: pass over plan command K in this pass; later commands that need what it makes wait too.
defer() {
  local - k=$1 tool=$2 p; set -f; shift 2
  N_DEFER=$((N_DEFER + 1))
  for p in ${P_PROD[$k]:-}; do WAITING[$p]=1; done
  [ "$tool" != fs-eval ] || WAITING[eval_result:$(opt --name "$@")]=1
}

# The plan (a pass between 1 and 2): for each command of every section, whether it is done, what it makes
# (a bank's --name, a run's --run, fs-sample's --name and --save-tensors unless it draws a grid) and every
# word it uses ("NAME@STEP" counts as NAME). Walking back from the last command, a product not yet made is
# needless when later commands use it and none of those still to run does, in the sections --only runs or
# in the others (whose rows may run later). A row that uses an open selection (not all its evaluations
# stored) is taken to use every choice. K2PLAN maps pass 2's numbering (the commands --only runs) to the
# plan's.
declare -A P_DONE=() P_PROD=() P_USES=() PLAN_NEEDLESS=() K2PLAN=()
PLAN_N=0 PLAN_K=0
plan_line() {  # plan_line OUTSIDE KIND RAW WORDS... (OUTSIDE=1: a section --only leaves out)
  local outside=$1 kind=$2 raw=$3; shift 3
  local -a w=("$@") cmd=()
  case $kind in
    import) PLAN_N=$((PLAN_N + 1)); [ "$outside" = 1 ] || K2PLAN[$((PLAN_K += 1))]=$PLAN_N
            stored "${w[1]}" && P_DONE[$PLAN_N]=1; return 0 ;;
    run) cmd=("${w[@]:1}") ;;
    row) local j=4 skip=0; while [ $j -lt ${#w[@]} ] && [[ ${w[$j]} != fs-* && ${w[$j]} == *=* ]]; do
           [ "${w[$j]}" != quick=no ] || [ "$QUICK" = 0 ] || skip=1; j=$((j + 1)); done
         [ "$skip" = 0 ] || return 0
         cmd=("${w[@]:$j}") ;;
  esac
  local n=$((PLAN_N += 1)) prod="" uses=" " u q c an keep keep_args x
  [ "$outside" = 1 ] || K2PLAN[$((PLAN_K += 1))]=$n
  [ ${#cmd[@]} -gt 0 ] || return 0
  if done_already "${cmd[@]}"; then P_DONE[$n]=1; fi
  case ${cmd[0]} in
    fs-rollout) prod=$(opt --name "${cmd[@]:1}") ;;
    fs-distill|fs-train) prod=$(opt --run "${cmd[@]:1}") ;;
    # samples kept for later commands (a sample set, a state file), not a grid: a grid is an output of its own
    fs-sample) [ -n "$(opt --png "${cmd[@]:1}")" ] || prod="$(opt --name "${cmd[@]:1}") $(opt --save-tensors "${cmd[@]:1}")" ;;
  esac
  P_PROD[$n]=$prod
  for u in "${cmd[@]:1}"; do u=${u%%@*}; [[ " $prod " == *" $u "* ]] || uses+="$u "; done
  for q in "${!PLAN_OPEN[@]}"; do
    [[ $raw == *"\${$q}"* || $raw == *"\${${q}_ARGS}"* ]] || continue
    an=${q}_ARGS; keep=${!q}; keep_args=${!an}
    for c in ${PLAN_OPEN[$q]}; do
      printf -v "$q" '%s' "$c"; printf -v "${q}_ARGS" '%s' "${!c}"
      while IFS= read -r -d '' x; do x=${x%%@*}; [[ " $prod " == *" $x "* ]] || uses+="$x "; done < <(words "$(expand "$raw")")
    done
    printf -v "$q" '%s' "$keep"; printf -v "${q}_ARGS" '%s' "$keep_args"
  done
  P_USES[$n]=$uses
}
plan_needless() {
  local - i u p some_used any_needed; set -f   # the words are names, never patterns
  local -A used=() needed=()
  for ((i = PLAN_N; i >= 1; i--)); do
    some_used="" any_needed=""
    for p in ${P_PROD[$i]:-}; do
      [ -z "${used[$p]:-}" ] || some_used+="$p "; [ -z "${needed[$p]:-}" ] || any_needed=1
    done
    if [ -z "${P_DONE[$i]:-}" ] && [ -n "$some_used" ] && [ -z "$any_needed" ]; then
      PLAN_NEEDLESS[$i]=${some_used% }
    elif [ -z "${P_DONE[$i]:-}" ]; then
      for u in ${P_USES[$i]:-}; do needed[$u]=1; done
    fi
    for u in ${P_USES[$i]:-}; do used[$u]=1; done
  done
}

# Pass 1 reads the params (so STORE and THREADS can come from the table); pass 2 runs the rows.
declare -A SET_BY_ENV=()
# A param keeps its first definition (an including table sets one before the include to override the
# included file's default); `include FILE` reads FILE, relative to the including file, in place.
run_table() { PASS=$1 SECTION_T=""; read_file "$TABLE" 0; }
read_file() {  # read_file FILE DEPTH
  local file=$1 depth=$2 n=0 line raw w kind
  while IFS= read -r line || [ -n "$line" ]; do
    n=$((n + 1)); FILE_T=$file LINENO_T=$n
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    raw=$line
    line=$(expand "$line") || exit 2
    printf '%s\n' "$line" | xargs printf '' 2>/dev/null || bad "unbalanced quotes"
    w=(); while IFS= read -r -d '' x; do w+=("$x"); done < <(words "$line")
    kind=${w[0]}
    case $kind in
      param)
        [ ${#w[@]} -ge 3 ] && [ ${#w[@]} -le 4 ] || bad "param NAME FULL [QUICK]"
        [[ ${w[1]} =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || bad "param name '${w[1]}'"
        # params are set in pass 1, before any selection is made: one holding a choice would keep the first
        local q; for q in "${!SELECTS[@]}"; do
          [[ $raw == *"\${$q}"* || $raw == *"\${${q}_ARGS}"* ]] && bad "param ${w[1]} uses \${$q}, a select's choice: params are fixed before selections are made (use it in the rows)"
        done
        if [ "$PASS" = 1 ]; then
          if [ -n "${!w[1]+x}" ] && [ -z "${SET_BY_TABLE[${w[1]}]+x}" ]; then SET_BY_ENV[${w[1]}]=1; fi
          if [ -z "${SET_BY_ENV[${w[1]}]+x}" ] && [ -z "${SET_BY_TABLE[${w[1]}]+x}" ]; then
            local v=${w[2]}; [ "$QUICK" = 1 ] && [ ${#w[@]} = 4 ] && v=${w[3]}
            printf -v "${w[1]}" '%s' "$v"; SET_BY_TABLE[${w[1]}]=1
          fi
        fi ;;
      section) [ ${#w[@]} = 2 ] || bad "section NAME"; SECTION_T=${w[1]} ;;
      include)
        [ ${#w[@]} = 2 ] || bad "include FILE"
        [ "$depth" -lt 8 ] || bad "include nested deeper than 8 (a loop?)"
        local inc=${w[1]}; [[ $inc == /* ]] || inc=$(dirname "$file")/$inc
        [ -f "$inc" ] || bad "include: no file '${w[1]}'"
        read_file "$inc" $((depth + 1)) ;;
      select)
        [ ${#w[@]} -ge 4 ] || bad "select NAME PREFIX CHOICE..."
        [[ ${w[1]} =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || bad "select name '${w[1]}'"
        SKIPPED=0; if [ -n "$ONLY" ] && [ -n "$SECTION_T" ] && [[ ",$ONLY," != *",$SECTION_T,"* ]]; then SKIPPED=1; fi
        choose "${w[@]:1}" ;;
      compare|target) ;;   # claims the report decides (jobs/tables/README.md)
      import|run|row)
        # the plan reads every section: a row that --only leaves out may still need a student made here
        if [ "$PASS" = plan ]; then
          local outside=0; [ -n "$ONLY" ] && [ -n "$SECTION_T" ] && [[ ",$ONLY," != *",$SECTION_T,"* ]] && outside=1
          plan_line "$outside" "$kind" "$raw" "${w[@]}"; continue
        fi
        if [ -n "$ONLY" ] && [ -n "$SECTION_T" ] && [[ ",$ONLY," != *",$SECTION_T,"* ]]; then continue; fi
        if [ "$PASS" = 1 ]; then   # count the commands, for the [k/N] of the log
          [ "$QUICK" = 1 ] && [ "$kind" = row ] && [[ " ${w[*]} " == *" quick=no "* ]] || N_TOTAL=$((N_TOTAL + 1))
          continue
        fi
        local p; for p in "${!PROVISIONAL[@]}"; do
          [[ $raw == *"\${$p}"* || $raw == *"\${${p}_ARGS}"* ]] && bad "this row uses \${$p}, which cannot be chosen: ${PROVISIONAL[$p]}"
        done
        ROW_RAW=$raw
        case $kind in
          import) [ ${#w[@]} = 3 ] || bad "import NAME FILE"
                  if stored "${w[1]}"; then N_SKIP=$((N_SKIP + 1)); continue; fi
                  [ -f "${w[2]}" ] || bad "import: no file '${w[2]}'"
                  if [ -n "$CLAIMS_DIR" ]; then   # an import takes seconds: wait for another process's, then look again
                    until claim "${w[1]}"; do sleep 1; done
                    refresh; if stored "${w[1]}"; then claim_release; N_SKIP=$((N_SKIP + 1)); continue; fi
                  fi
                  N_RUN=$((N_RUN + 1))
                  [ "$DRY" = 1 ] && { FS_JOB="rows [$((N_RUN + N_SKIP + N_DEFER))/$N_TOTAL]" fs_log "would import ${w[2]} as ${w[1]}"; continue; }
                  FS_JOB="rows [$((N_RUN + N_SKIP + N_DEFER))/$N_TOTAL]" fs_run out fs-store import "${w[2]}" --store "$STORE" --name "${w[1]}" || exit $?
                  claim_release; refresh ;;
          run) [ ${#w[@]} -ge 2 ] || bad "run TOOL ARGS..."; execute "${w[@]:1}" ;;
          row) [ ${#w[@]} -ge 5 ] || bad "row TABLE ORDER LABEL [KEY=VALUE...] fs-eval ... --name KEY"
               [[ ${w[2]} =~ ^-?[0-9]+$ ]] || bad "row ORDER '${w[2]}' is not an integer"
               local j=4 skip=0; while [ $j -lt ${#w[@]} ] && [[ ${w[$j]} != fs-* && ${w[$j]} == *=* ]]; do
                 [ "${w[$j]}" != quick=no ] || [ "$QUICK" = 0 ] || skip=1; j=$((j + 1)); done
               [ "${w[$j]:-}" = fs-eval ] || bad "a row is an fs-eval command (got '${w[$j]:-}')"
               [ -n "$(opt --name "${w[@]:$((j + 1))}")" ] || bad "a row's fs-eval needs --name KEY (the report finds it by that name)"
               [ "$skip" = 1 ] || execute "${w[@]:$j}" ;;
        esac ;;
      *) bad "unknown row kind '$kind' (param, section, include, import, run, row, select, compare, target)" ;;
    esac
  done < "$file"
}
declare -A SET_BY_TABLE=()
run_table 1
[ -n "${THREADS:-}" ] || [ "$LANES" = 1 ] || THREADS=$(( $(nproc) / LANES > 0 ? $(nproc) / LANES : 1 ))
STORE=${STORE:-runs/rows.db} THREADS=${THREADS:-$(nproc)}
export FS_STORE=$STORE
fs_tools fs-rollout fs-distill fs-sample fs-eval fs-store
mkdir -p "$(dirname "$STORE")"
[ -f "$STORE" ] || [ "$DRY" = 1 ] || fs-store init --store "$STORE" >/dev/null
if [ "$LANES" -gt 1 ] && [ "$DRY" = 0 ]; then
  lane_args=(); [ "$QUICK" = 0 ] || lane_args+=(--quick); [ -z "$ONLY" ] || lane_args+=(--only "$ONLY")
  fs_log "table $TABLE in $LANES lanes (rows.sh --share), $THREADS threads each; lane K's lines start [lane K]"
  lane_pids=()
  for lane in $(seq 1 "$LANES"); do
    STORE=$STORE THREADS=$THREADS bash "$0" "${lane_args[@]}" --share "$TABLE" \
      > >(sed -u "s/^/[lane $lane] /") 2> >(sed -u "s/^/[lane $lane] /" >&2) &
    lane_pids+=($!)
  done
  trap 'kill -TERM "${lane_pids[@]}" 2>/dev/null' TERM INT HUP   # a signal to this process reaches the lanes
  lane_rc=0
  for p in "${lane_pids[@]}"; do
    while :; do r=0; wait "$p" || r=$?; kill -0 "$p" 2>/dev/null || break; done   # waits again after a trapped signal
    [ "$lane_rc" != 0 ] || lane_rc=$r
  done
  exit "$lane_rc"
fi
t_start=$(date +%s)
refresh
[ "$SHARE" = 0 ] || [ "$DRY" = 1 ] || claims_init "$STORE"
run_table plan; plan_needless
fs_log "table $TABLE, store $STORE, $THREADS threads$([ "$QUICK" = 1 ] && echo ', --quick')${ONLY:+, sections $ONLY}${CLAIMS_DIR:+, shared (claims in $CLAIMS_DIR)}"
run_table 2
RUN_BEFORE=0   # --share: what this process ran in earlier passes (the last pass finds it stored)
while [ "$N_DEFER" -gt 0 ]; do
  fs_log "$N_DEFER commands wait for other processes"
  claims_wait "${DEFER_ON[@]}"
  RUN_BEFORE=$((RUN_BEFORE + N_RUN)) N_RUN=0 N_SKIP=0 N_NEEDLESS=0 N_DEFER=0 PLAN_N=0 PLAN_K=0
  P_DONE=() P_PROD=() P_USES=() PLAN_NEEDLESS=() K2PLAN=() PLAN_OPEN=() PROVISIONAL=() WAITING=() WAITING_SEL=() DEFER_ON=()
  refresh; run_table plan; plan_needless
  fs_log "again, for the commands passed over"
  run_table 2
done
if [ -n "$CLAIMS_DIR" ]; then
  fs_log "all rows done in $(fs_elapsed "$t_start"): $((RUN_BEFORE + N_RUN)) run here, $((N_SKIP - N_NEEDLESS - RUN_BEFORE)) already stored or run by other processes$([ "$N_NEEDLESS" = 0 ] || echo ", $N_NEEDLESS not needed")"
else
  fs_log "all rows done in $(fs_elapsed "$t_start"): $N_RUN run, $((N_SKIP - N_NEEDLESS)) already stored$([ "$N_NEEDLESS" = 0 ] || echo ", $N_NEEDLESS not needed")"
fi
