#!/usr/bin/env bash
# scripts/bench.sh [--quick]
#
# Times burnline, the genimage peer and the floor side by side, in one run, on
# the workloads of ../shared/bench (README there): W1 (full 64 MiB images,
# N1 devices) and W2 (station mode: base once plus per-device deltas, N2
# devices), on this machine's disk (ext4) and on a loop-mounted XFS with
# reflink. `sync` before every timed phase, contenders alternated, REPS
# repetitions, medians and ratios reported. burnline's time includes making
# its output durable; the peer's is followed by one `sync`.
#
# Also: peak RSS of a W2 build of NBIG devices, and `burnline check` on the
# NBIG-row CSV. Needs root (the XFS loop mount) and the Debian packages
# genimage dosfstools mtools xfsprogs time.
#
# Environment: N1 (200) N2 (10000) NPEER2 (1000: the W2 peer runs this many
# devices, and rates are compared) REPS (3) NBIG (100000) BENCH_DIR,
# BURNLINE_BIN (a built binary; default: cargo build --release).
# --quick: a small smoke run (what the test suite runs).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED_BENCH:-$root/../shared/bench}
N1=${N1:-200} N2=${N2:-10000} NPEER2=${NPEER2:-1000} REPS=${REPS:-3} NBIG=${NBIG:-100000}
xfs_size=8G
if [ "${1:-}" = "--quick" ]; then
  N1=3 N2=20 NPEER2=5 REPS=1 NBIG=500 xfs_size=1G
fi
work=${BENCH_DIR:-$root/target/bench}
bin=${BURNLINE_BIN:-$root/target/release/burnline}
for t in genimage mkfs.vfat mcopy mkfs.xfs python3 /usr/bin/time; do
  command -v "$t" >/dev/null || { echo "bench.sh: $t is missing (apt-get install genimage dosfstools mtools xfsprogs time)" >&2; exit 2; }
done
[ -n "${BURNLINE_BIN:-}" ] || (cd "$root" && cargo build --release --quiet)

cleanup() { mountpoint -q "$work/xfs" 2>/dev/null && umount "$work/xfs" || true; }
trap cleanup EXIT
cleanup
rm -rf "$work"; mkdir -p "$work/ext4" "$work/xfs"
truncate -s "$xfs_size" "$work/xfs.img"
mkfs.xfs -q -f -m reflink=1 "$work/xfs.img"
mount -o loop "$work/xfs.img" "$work/xfs"

for fs in ext4 xfs; do
  wl=$work/$fs/wl
  "$shared/make-workload.sh" "$wl" "$N1" "$N2" "$NPEER2" >/dev/null
  cp "$root/recipes/bench-w1.yaml" "$wl/bench-w1.yaml"
done
"$shared/make-workload.sh" "$work/ext4/big" "$NBIG" >/dev/null
cp "$root/recipes/bench-w1.yaml" "$work/ext4/big/bench-w1.yaml"

# now: seconds since the epoch, with microseconds
now() { echo "${EPOCHREALTIME/,/.}"; }
# timed NAME CMD...: sync, run, print the seconds taken
timed() {
  sync
  local s e; s=$(now)
  "$@" >/dev/null 2>"$work/last.err" || { echo "bench.sh: $* failed:" >&2; cat "$work/last.err" >&2; exit 1; }
  e=$(now)
  awk -v s="$s" -v e="$e" 'BEGIN { printf "%.4f\n", e - s }'
}
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

b_w1()   { rm -rf "$1/out"; "$bin" build "$1/wl/bench-w1.yaml" --devices "$1/wl/devices-$N1.csv" --out "$1/out"; }
p_w1()   { "$shared/peer-genimage.sh" "$N1" "$1/wl" && sync; }
f_w1()   { rm -rf "$1/floor"; python3 "$shared/floor.py" W1 "$N1" "$1/floor"; }
b_w2()   { rm -rf "$1/out"; "$bin" build "$1/wl/bench-w1.yaml" --devices "$1/wl/devices-$N2.csv" --out "$1/out" --station --no-image-sha256; }
p_w2()   { "$shared/peer-genimage.sh" --creds-only "$NPEER2" "$1/wl" && sync; }
f_w2()   { rm -rf "$1/floor"; python3 "$shared/floor.py" W2 "$N2" "$1/floor"; }

declare -A T
for fs in ext4 xfs; do
  d=$work/$fs
  for w in w1 w2; do
    order=(b p f)
    for ((r = 0; r < REPS; r++)); do
      for c in "${order[@]}"; do
        T[$fs.$w.$c]+="$(timed "${c}_$w" "$d") "
      done
      order=("${order[@]:1}" "${order[0]}")   # alternate who goes first
      rm -rf "$d/wl/peer" "$d/out" "$d/floor"
    done
  done
done

/usr/bin/time -o "$work/rss" -f '%M' "$bin" build "$work/ext4/big/bench-w1.yaml" --devices "$work/ext4/big/devices-$NBIG.csv" \
  --out "$work/ext4/big/out" --station --no-image-sha256 >/dev/null 2>&1
rss_kib=$(tail -n 1 "$work/rss")
check_s=$(timed "$bin" check "$work/ext4/big/bench-w1.yaml" --devices "$work/ext4/big/devices-$NBIG.csv")

cores=$(nproc)
echo "burnline benchmark: $cores cores, $(uname -r), ext4 on $(df --output=source "$work/ext4" | tail -n 1), XFS (reflink=1) on a loop device"
echo "medians of $REPS run(s); W1 N=$N1, W2 N=$N2 (genimage peer on W2: $NPEER2 devices, compared by rate)"
printf '%-10s %-5s %12s %12s %12s %14s %14s %12s\n' workload fs burnline_s peer_s floor_s burnline_dev/s peer/burnline burnline/floor
for w in w1 w2; do
  for fs in ext4 xfs; do
    b=$(echo "${T[$fs.$w.b]}" | median); p=$(echo "${T[$fs.$w.p]}" | median); f=$(echo "${T[$fs.$w.f]}" | median)
    n=$N1; np=$N1; [ "$w" = w2 ] && { n=$N2; np=$NPEER2; }
    awk -v w="$w" -v fs="$fs" -v b="$b" -v p="$p" -v f="$f" -v n="$n" -v np="$np" 'BEGIN {
      brate = n / b; prate = np / p
      printf "%-10s %-5s %12.3f %12.3f %12.3f %14.0f %14.1f %12.2f\n", toupper(w), fs, b, p, f, brate, brate / prate, b / f }'
  done
done
echo "W2 peak RSS, N=$NBIG: $((rss_kib / 1024)) MiB"
echo "burnline check, $NBIG-row CSV: ${check_s} s"
