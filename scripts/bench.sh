#!/usr/bin/env bash
# scripts/bench.sh [--quick | --pool | --floors]
#
# Times burnline, the genimage peer and the floor side by side, in one run, on
# the workloads of ../shared/bench (README there): W1 (full 64 MiB images,
# N1 devices) and W2 (station mode: base once plus per-device deltas, N2
# devices), on this machine's disk (ext4) and on a loop-mounted XFS with
# reflink. `sync` before every timed phase, contenders alternated, REPS
# repetitions, medians and ratios reported. burnline's time includes making
# its output durable; the peer's is followed by one `sync`.
#
# W1 runs burnline twice: with the default SHA-256 of every image, and with
# `--digest blake3` (B3SUMS: only what differs per device is hashed). The
# default is compared with genimage followed by `sha256sum` of its images
# (and one sync), and with its SHA-256 bound, N x disk size / (one core's
# rate from `openssl speed` x cores). Each contender's output is removed
# before the next one runs. On XFS,
# W1 is also compared with `scripts/reflink-floor.py --no-sync`: creating,
# cloning and patching the N images with nothing made durable, a time no
# tool that makes its output durable can beat (timed by its own clock).
#
# Also: W1 on XFS with N1BIG devices (burnline --digest blake3 and the reflink
# floor, alternated, REPS times: the rate once the run's fixed cost is
# spread), peak RSS of a W2 build of NBIG devices, and `burnline check` on the
# NBIG-row CSV. Needs root (the XFS loop mount) and the Debian packages
# genimage dosfstools mtools xfsprogs time.
#
# Environment: N1 (200) N2 (10000) NPEER2 (1000: the W2 peer runs this many
# devices, and rates are compared) REPS (3) NBIG (100000) N1BIG (10000) BENCH_DIR,
# BURNLINE_BIN (a built binary; default: cargo build --release).
# --quick: a small smoke run (what the test suite runs).
# --pool: only the identity pool's lease rate (below), nothing else.
# --floors: only the two ext4 floor rows (issue #28): W1 `--digest blake3`
# and W2 `--deltas` against their floors, alternated, and the verdicts.
# Then scripts/bench-w3.sh (W3, the realistic disk, and flashing onto
# simulated SD cards) runs with the same --quick, BENCH_DIR and BURNLINE_BIN,
# and last the pool's lease rate (as --pool, smaller with --quick).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

# The identity pool's lease rate: POOL_STATIONS (16) stations (a thread and
# a connection each) leasing POOL_N identities, each recorded leased,
# written and verified, against a throwaway PostgreSQL cluster (Debian's
# postgresql, initdb in a temp dir, run as the postgres user, reached over
# TCP on 127.0.0.1, fsync on) and against an SQLite file; and on PostgreSQL
# the lease transaction alone. Each line gives leases/s and the lease call's
# p50 and p99 latency. POOL_BIN: a built examples/pool_lease_rate (default:
# cargo build --release). Needs root and postgresql.
pool_rows() {
  local POOL_N=${POOL_N:-4000} POOL_STATIONS=${POOL_STATIONS:-16} pgbin ex
  if [ "${1:-}" = "--quick" ]; then POOL_N=200; fi
  pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -x "$pgbin/initdb" ] || { echo "bench.sh: PostgreSQL is missing (apt-get install postgresql)" >&2; exit 2; }
  ex=${POOL_BIN:-$root/target/release/examples/pool_lease_rate}
  [ -n "${POOL_BIN:-}" ] || (cd "$root" && cargo build --release --quiet --example pool_lease_rate)
  pgdir=$(mktemp -d /tmp/burnline-bench-pg.XXXXXX)
  chown postgres: "$pgdir"
  stop_pg() { runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgdir/data" -m immediate -w stop >/dev/null 2>&1 || true; rm -rf "$pgdir"; }
  trap stop_pg EXIT
  # Loopback TCP only, trusted (a throwaway cluster; the stations of a line
  # reach theirs over TCP, not a Unix socket).
  runuser -u postgres -- "$pgbin/initdb" -D "$pgdir/data" -U postgres --auth-local=trust --auth-host=trust -E UTF8 >/dev/null 2>&1
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $pgdir -c max_connections=$((POOL_STATIONS + 20))" -w start >/dev/null
  runuser -u postgres -- "$pgbin/createdb" -h 127.0.0.1 -p "$port" bench
  runuser -u postgres -- "$pgbin/createdb" -h 127.0.0.1 -p "$port" bench_lease
  "$ex" "postgres://postgres@127.0.0.1:$port/bench" "$pgdir/pg.key" "$POOL_N" "$POOL_STATIONS" cycle
  "$ex" "postgres://postgres@127.0.0.1:$port/bench_lease" "$pgdir/pg2.key" "$POOL_N" "$POOL_STATIONS" lease
  "$ex" "sqlite:$pgdir/bench.db" "$pgdir/lite.key" "$POOL_N" "$POOL_STATIONS"
  stop_pg
  trap - EXIT
}
if [ "${1:-}" = "--pool" ]; then
  pool_rows
  exit 0
fi
shared=${SHARED_BENCH:-$root/../shared/bench}
N1=${N1:-200} N2=${N2:-10000} NPEER2=${NPEER2:-1000} REPS=${REPS:-3} NBIG=${NBIG:-100000} N1BIG=${N1BIG:-10000}
xfs_size=8G
if [ "${1:-}" = "--quick" ]; then
  N1=3 N2=20 NPEER2=5 REPS=1 NBIG=500 N1BIG=30 xfs_size=1G
fi
floors=0; [ "${1:-}" = "--floors" ] && floors=1
work=${BENCH_DIR:-$root/target/bench}
bin=${BURNLINE_BIN:-$root/target/release/burnline}
for t in genimage mkfs.vfat mcopy mkfs.xfs python3 openssl /usr/bin/time; do
  command -v "$t" >/dev/null || { echo "bench.sh: $t is missing (apt-get install genimage dosfstools mtools xfsprogs openssl time)" >&2; exit 2; }
done
[ -n "${BURNLINE_BIN:-}" ] || (cd "$root" && cargo build --release --quiet)

cleanup() { mountpoint -q "$work/xfs" 2>/dev/null && umount "$work/xfs" || true; }
trap cleanup EXIT
cleanup
rm -rf "$work"; mkdir -p "$work/ext4" "$work/xfs"
truncate -s "$xfs_size" "$work/xfs.img"
mkfs.xfs -q -f -m reflink=1 "$work/xfs.img"
mount -o loop "$work/xfs.img" "$work/xfs"

fss=(ext4 xfs); [ "$floors" = 1 ] && fss=(ext4)
for fs in "${fss[@]}"; do
  wl=$work/$fs/wl
  "$shared/make-workload.sh" "$wl" "$N1" "$N2" "$NPEER2" >/dev/null
  cp "$root/recipes/bench-w1.yaml" "$wl/bench-w1.yaml"
done
[ "$floors" = 1 ] || {
  "$shared/make-workload.sh" "$work/ext4/big" "$NBIG" >/dev/null
  cp "$root/recipes/bench-w1.yaml" "$work/ext4/big/bench-w1.yaml"
}

. "$root/scripts/bench-lib.sh"

b_w1()   { rm -rf "$1/out"; "$bin" build "$1/wl/bench-w1.yaml" --devices "$1/wl/devices-$N1.csv" --out "$1/out"; }
b3_w1()  { rm -rf "$1/out"; "$bin" build "$1/wl/bench-w1.yaml" --devices "$1/wl/devices-$N1.csv" --out "$1/out" --digest blake3; }
p_w1()   { "$shared/peer-genimage.sh" "$N1" "$1/wl" && sync; }
# The peer of the SHA-256 default: genimage, then sha256sum of its images.
ps_w1()  { "$shared/peer-genimage.sh" "$N1" "$1/wl" && (cd "$1/wl/peer" && sha256sum ./*/out/disk.img > SHA256SUMS) && sync; }
f_w1()   { rm -rf "$1/floor"; python3 "$shared/floor.py" W1 "$N1" "$1/floor"; }
r_w1()   { rm -rf "$1/rfloor"; python3 "$root/scripts/reflink-floor.py" "$1/rbase.img" "$N1" "$1/rfloor" --no-sync; }
b_w2()   { rm -rf "$1/out"; "$bin" build "$1/wl/bench-w1.yaml" --devices "$1/wl/devices-$N2.csv" --out "$1/out" --deltas; }
p_w2()   { "$shared/peer-genimage.sh" --creds-only "$NPEER2" "$1/wl" && sync; }
f_w2()   { rm -rf "$1/floor"; python3 "$shared/floor.py" W2 "$N2" "$1/floor"; }

# The image the reflink floor clones: one W1 device as burnline builds it.
[ "$floors" = 1 ] || {
head -n 2 "$work/xfs/wl/devices-$N1.csv" > "$work/xfs/one.csv"
"$bin" build "$work/xfs/wl/bench-w1.yaml" --devices "$work/xfs/one.csv" --out "$work/xfs/one" >/dev/null 2>&1
cp --reflink=always "$work/xfs/one/$(sed -n 2p "$work/xfs/one.csv" | cut -d, -f1).img" "$work/xfs/rbase.img"
}

declare -A T
for fs in "${fss[@]}"; do
  d=$work/$fs
  for w in w1 w2; do
    order=(b p f)
    [ "$w" = w1 ] && order=(b b3 p ps f)
    [ "$w.$fs" = w1.xfs ] && order+=(r)
    if [ "$floors" = 1 ]; then order=(b f); [ "$w" = w1 ] && order=(b3 f); fi
    for ((r = 0; r < REPS; r++)); do
      for c in "${order[@]}"; do
        if [ "$c" = r ] || [ "$c" = f ]; then
          T[$fs.$w.$c]+="$(selftimed "${c}_$w" "$d") "
        else
          T[$fs.$w.$c]+="$(timed "${c}_$w" "$d") "
        fi
        # Each contender starts from the same state: the previous one's
        # output (up to 13 GB of page cache for the peer) is gone.
        rm -rf "$d/wl/peer" "$d/out" "$d/floor" "$d/rfloor"
      done
      order=("${order[@]:1}" "${order[0]}")   # alternate who goes first
    done
  done
done

# The two ext4 floor rows' targets (issue #28): each floor is measured in
# the same run, into a directory made fresh for it (the previous
# contender's output removed first, as before every contender).
target() { # W CONTENDER TARGET LABEL
  awk -v b="$(echo "${T[ext4.$1.$2]}" | median)" -v f="$(echo "${T[ext4.$1.f]}" | median)" -v t="$3" -v l="$4" 'BEGIN {
    printf "%s: burnline %.3f s, floor %.3f s, burnline/floor %.2f, target <= %.1f x floor: %s\n", l, b, f, b / f, t, (b / f <= t) ? "met" : "not met" }'
}
if [ "$floors" = 1 ]; then
  echo "the ext4 floor rows: $(nproc) cores, $(uname -r), ext4 on $(df --output=source "$work/ext4" | tail -n 1); medians of $REPS run(s), alternated; W1 N=$N1, W2 N=$N2"
  target w1 b3 1.0 "W1 ext4 --digest blake3"
  target w2 b 1.2 "W2 ext4 --deltas"
  exit 0
fi

# W1 on XFS at N1BIG devices.
"$shared/make-workload.sh" "$work/xfs/wlbig" "$N1BIG" >/dev/null
cp "$root/recipes/bench-w1.yaml" "$work/xfs/wlbig/bench-w1.yaml"
bigb=() bigr=() bigd=()
for ((r = 0; r < REPS; r++)); do
  bigb+=("$(timed bash -c "rm -rf '$work/xfs/outbig' && '$bin' build '$work/xfs/wlbig/bench-w1.yaml' --devices '$work/xfs/wlbig/devices-$N1BIG.csv' --out '$work/xfs/outbig' --digest blake3")")
  rm -rf "$work/xfs/outbig"
  bigr+=("$(selftimed python3 "$root/scripts/reflink-floor.py" "$work/xfs/rbase.img" "$N1BIG" "$work/xfs/rbig" --no-sync)")
  rm -rf "$work/xfs/rbig"
  bigd+=("$(selftimed python3 "$root/scripts/reflink-floor.py" "$work/xfs/rbase.img" "$N1BIG" "$work/xfs/rbig")")
  rm -rf "$work/xfs/rbig"
done

/usr/bin/time -o "$work/rss" -f '%M' "$bin" build "$work/ext4/big/bench-w1.yaml" --devices "$work/ext4/big/devices-$NBIG.csv" \
  --out "$work/ext4/big/out" --deltas >/dev/null 2>&1
rss_kib=$(tail -n 1 "$work/rss")
check_s=$(timed "$bin" check "$work/ext4/big/bench-w1.yaml" --devices "$work/ext4/big/devices-$NBIG.csv")

cores=$(nproc)
echo "burnline benchmark: $cores cores, $(uname -r), ext4 on $(df --output=source "$work/ext4" | tail -n 1), XFS (reflink=1) on a loop device"
echo "medians of $REPS run(s); W1 N=$N1, W2 N=$N2 (genimage peer on W2: $NPEER2 devices, compared by rate)"
echo "floor: ../shared/bench/floor.py; rfloor (W1 on XFS): scripts/reflink-floor.py --no-sync (nothing durable); both by their own clocks; '-' where it does not apply"
printf '%-8s %-5s %-8s %11s %9s %9s %9s %11s %14s %14s %15s\n' workload fs burnline burnline_s peer_s floor_s rfloor_s burnline_dev/s peer/burnline burnline/floor burnline/rfloor
row() { # W FS LABEL CONTENDER PEER
  local w=$1 fs=$2 b p f r n np
  b=$(echo "${T[$fs.$w.$4]}" | median); p=$(echo "${T[$fs.$w.$5]}" | median); f=$(echo "${T[$fs.$w.f]}" | median)
  r=""; [ -n "${T[$fs.$w.r]:-}" ] && r=$(echo "${T[$fs.$w.r]}" | median)
  n=$N1; np=$N1; [ "$w" = w2 ] && { n=$N2; np=$NPEER2; }
  awk -v w="$w" -v fs="$fs" -v l="$3" -v b="$b" -v p="$p" -v f="$f" -v r="$r" -v n="$n" -v np="$np" 'BEGIN {
    brate = n / b; prate = np / p
    rs = (r == "") ? "-" : sprintf("%.3f", r); rr = (r == "") ? "-" : sprintf("%.2f", b / r)
    printf "%-8s %-5s %-8s %11.3f %9.3f %9.3f %9s %11.0f %14.1f %14.2f %15s\n", toupper(w), fs, l, b, p, f, rs, brate, brate / prate, b / f, rr }'
}
for fs in ext4 xfs; do
  row w1 "$fs" sha256 b ps
  row w1 "$fs" blake3 b3 p
done
for fs in ext4 xfs; do
  row w2 "$fs" deltas b p
done
echo "(the peer of the sha256 rows is genimage followed by sha256sum of its images; of the others, genimage alone)"
target w1 b3 1.0 "W1 ext4 --digest blake3"
target w2 b 1.2 "W2 ext4 --deltas"
# The SHA-256 bound of the default W1 rows: N x disk size / (one core's
# SHA-256 rate x cores), the rate from openssl on 1 MiB blocks.
sha_rate=$(openssl speed -evp sha256 -bytes 1048576 -seconds 2 2>/dev/null | awk '/^sha256/ { v = $NF; sub(/k$/, "", v); print v * 1000 }')
for fs in ext4 xfs; do
  awk -v fs="$fs" -v b="$(echo "${T[$fs.w1.b]}" | median)" -v f="$(echo "${T[$fs.w1.f]}" | median)" -v n="$N1" -v r="$sha_rate" -v c="$cores" 'BEGIN {
    bound = n * 64 * 1048576 / (r * c); m = (f > bound) ? f : bound
    printf "W1 %s sha256: SHA-256 bound %.3f s (%.0f MB/s a core x %d), floor %.3f s, burnline/max(floor, bound) %.2f\n", fs, bound, r / 1e6, c, f, b / m }'
done
b=$(echo "${bigb[*]}" | median); r=$(echo "${bigr[*]}" | median); dr=$(echo "${bigd[*]}" | median)
awk -v n="$N1BIG" -v b="$b" -v r="$r" -v d="$dr" 'BEGIN { printf "W1 xfs N=%d: burnline --digest blake3 %.3f s (%.0f durable images/s), rfloor %.3f s (%.0f images/s, nothing durable), burnline/rfloor %.2f, rfloor with one sync %.3f s (%.0f durable images/s), burnline rate/synced rfloor rate %.2f\n", n, b, n / b, r, n / r, b / r, d, n / d, d / b }'
echo "W2 peak RSS, N=$NBIG: $((rss_kib / 1024)) MiB"
echo "burnline check, $NBIG-row CSV: ${check_s} s"

# W3 (a realistic 8 GiB gateway disk) and flashing onto simulated cards.
bash "$root/scripts/bench-w3.sh" ${1:+"$1"}
# The pool's lease rate (its own EXIT trap: the XFS mount goes first).
cleanup
trap - EXIT
pool_rows ${1:+"$1"}
