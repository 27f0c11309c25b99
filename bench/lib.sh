# Helpers shared by the side-by-side benchmark scripts (bench/unet.sh, bench/dit.sh): columns of
# "value value" rounds as a JSON list, their median, and a ratio (null when the peer is missing).
list() { local c=$1; shift; [ $# -gt 0 ] || { echo null; return; }; printf '%s\n' "$@" | awk -v c="$c" '{ printf "%s%.1f", (NR > 1 ? ", " : "["), $c } END { print "]" }'; }
median() { local c=$1; shift; [ $# -gt 0 ] || { echo null; return; }
           printf '%s\n' "$@" | awk -v c="$c" '{ print $c }' | sort -g | awk '{ v[NR] = $1 } END { printf "%.1f\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == "null" || b + 0 == 0) print "null"; else printf "%.2f\n", a / b }'; }
