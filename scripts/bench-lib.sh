# Shell functions shared by scripts/bench.sh and scripts/bench-w3.sh (sourced,
# not run). They need $work (the bench's scratch folder) to be set.

# now: seconds since the epoch, with microseconds
now() { echo "${EPOCHREALTIME/,/.}"; }
# timed CMD...: sync, run, print the seconds taken
timed() {
  sync
  local s e; s=$(now)
  "$@" >/dev/null 2>"$work/last.err" || { echo "bench: $* failed:" >&2; cat "$work/last.err" >&2; exit 1; }
  e=$(now)
  awk -v s="$s" -v e="$e" 'BEGIN { printf "%.4f\n", e - s }'
}
# selftimed CMD...: sync, run a floor script, print the seconds it reports
# by its own clock (Python's start-up, 0.15 s here, is no part of a floor and
# would swamp a 200-device reflink floor)
selftimed() {
  sync
  "$@" 2>"$work/last.err" | sed -n 's/^[^:]*: \([0-9.]*\) s.*$/\1/p' | grep . || { echo "bench: $* failed:" >&2; cat "$work/last.err" >&2; exit 1; }
}
# median: the median of the numbers on stdin (separated by spaces or lines)
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
