# Sourced by the tool-level tests (jobs/tests/*.sh): the counters behind their "ok   - WHAT" and "FAIL - WHAT"
# lines, and checks_summary, the closing "N passed, M failed" whose status is the test's.
passed=0 failed=0
ok()     { passed=$((passed + 1)); echo "ok   - $*"; }
not_ok() { failed=$((failed + 1)); echo "FAIL - $*"; }
# check WHAT CMD...: CMD succeeds.
check()  { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }
# expect RC PATTERN CMD...: CMD exits RC and its stderr matches the extended regex PATTERN (scratch files in $W).
expect() {
  local want=$1 pat=$2; shift 2
  local rc=0
  "$@" >"$W/out.txt" 2>"$W/err.txt" || rc=$?
  if [ "$rc" -eq "$want" ] && grep -Eq -- "$pat" "$W/err.txt"; then ok "exit $want: ${*:1:8}"
  else not_ok "expected exit $want and /$pat/ from: $* -- got exit $rc: $(tail -c 400 "$W/err.txt")"; fi
}
checks_summary() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; }
