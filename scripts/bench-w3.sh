#!/usr/bin/env bash
# scripts/bench-w3.sh [--quick]
#
# The realistic-disk and flashing rows of the benchmark (issue #13), run by
# scripts/bench.sh after its W1/W2 table, or alone. W3 is recipes/bench-w3.yaml:
# an 8 GiB GPT disk with the W1 bootstrap FAT, a 2 GiB rootfs partition
# holding a 1 GiB ext4 image (made here with `mke2fs -t ext4 -d` from about
# 900 MiB of pseudo-random files, so it has real extents), 1 MiB of
# credentials and the rest empty. `sync` before every timed phase,
# contenders alternated, REPS repetitions, medians.
#
# Rows:
#  - W3 on XFS (reflink), `build --deltas` at its defaults and full images
#    with `--digest blake3`: the fixed cost t(1) against copying the rootfs
#    image once plus `b3sum` of the base, and the per-device marginal cost
#    (t(N3+1) - t(1)) / N3 against W1's, measured the same way;
#  - W3 on ext4: station defaults the same way, full images with
#    --digest blake3 for N3EXT devices (each writes its 1 GiB);
#  - W3 at the defaults (full images, SHA-256) for N3SHA devices against its
#    SHA-256 bound, N x disk size / (one core's SHA-256 rate x cores);
#  - peak RSS of the W3 station and full-image runs;
#  - the simulated cards: each a loop device (`--direct-io=on`) over the file
#    nbdfuse makes of an nbdkit `file` server over a sparse backing file,
#    slowed by scripts/card-rate.c (an nbdkit filter built here with cc:
#    CARD_W MB/s writes, CARD_R MB/s reads, each direction a queue). Every
#    run prints each card's own `dd` rates (all cards at once, 32 MiB each,
#    written with fsync, read with O_DIRECT);
#  - flashing: W3 (base plus deltas) onto CARDS cards at once, with
#    burnline's read-back verification, against `bmaptool copy` of the same
#    devices' full images run once per card in parallel, each followed by
#    `blockdev --flushbufs` and `cmp` of the bmap's ranges for the read-back;
#  - the station path: `flash --pool sqlite:… --recipe w3.yaml` (base built
#    from the recipe, one leased identity per card) onto each SLOTS count of
#    cards at once, against the same bmaptool+cmp peer on as many cards,
#    alternated: time, its ratio to the cards' bandwidth over the bytes each
#    card must take and give back, cards an hour, and of the burnline
#    process (`/usr/bin/time`, getrusage) CPU seconds (user + sys) per card
#    and peak RSS; and the cards' floor on this machine: `dd` with O_DIRECT
#    and 1 MiB blocks onto as many cards at once, each card's bytes written
#    (and fsynced) then read back, nothing else (what the simulated cards
#    and the machine under them give when nothing computes).
#
# --flash: only the flashing rows (the builds they need are made untimed).
# STATION_ONLY=1 (with --flash): only the station rows and their floor.
# Environment: N3 (100) N3SHA (10) N3EXT (5) CARDS (4) SLOTS ("4 16")
# CARD_W (20) CARD_R (40) REPS (3) BENCH_DIR BURNLINE_BIN. Needs root,
# xfsprogs, e2fsprogs, bmap-tools, b3sum, nbdkit, nbdkit-plugin-dev,
# libnbd-bin (nbdfuse) and gcc.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED_BENCH:-$root/../shared/bench}
N3=${N3:-100} N3SHA=${N3SHA:-10} N3EXT=${N3EXT:-5} CARDS=${CARDS:-4} SLOTS=${SLOTS:-4 16} CARD_W=${CARD_W:-20} CARD_R=${CARD_R:-40} REPS=${REPS:-3}
disk=8GiB part=2GiB image_mib=1024 files_mib=900 xfs_size=24G
mode=${1:-}
if [ "$mode" = "--quick" ]; then
  N3=3 N3SHA=2 N3EXT=2 CARDS=2 SLOTS=2 CARD_W=200 CARD_R=400 REPS=1
  disk=512MiB part=128MiB image_mib=64 files_mib=48 xfs_size=2G
fi
work=${BENCH_DIR:-$root/target/bench}/w3
bin=${BURNLINE_BIN:-$root/target/release/burnline}
# The most cards one row writes at once, and the identities the pool rows
# lease (every repetition of every SLOTS count).
ncards=$CARDS npool=0
for n in $SLOTS; do
  if ((n > ncards)); then ncards=$n; fi
  npool=$((npool + REPS * n))
done
for t in mkfs.xfs mke2fs bmaptool b3sum openssl losetup blockdev cmp python3 /usr/bin/time nbdkit nbdfuse cc; do
  command -v "$t" >/dev/null || { echo "bench-w3.sh: $t is missing (apt-get install xfsprogs e2fsprogs bmap-tools b3sum openssl time nbdkit libnbd-bin gcc)" >&2; exit 2; }
done
[ -f /usr/include/nbdkit-filter.h ] || { echo "bench-w3.sh: nbdkit-filter.h is missing (apt-get install nbdkit-plugin-dev)" >&2; exit 2; }
[ -n "${BURNLINE_BIN:-}" ] || (cd "$root" && cargo build --release --quiet)
. "$root/scripts/bench-lib.sh"

loops=() cards=()
cleanup() {
  for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null || true; done
  # Unmounting ends nbdfuse, and nbdkit (--exit-with-parent) with it.
  for c in "${cards[@]}"; do umount "$c" 2>/dev/null || true; done
  mountpoint -q "$work/xfs" 2>/dev/null && umount "$work/xfs" || true
}
trap cleanup EXIT
mountpoint -q "$work/xfs" 2>/dev/null && umount "$work/xfs"
rm -rf "$work"; mkdir -p "$work/ext4" "$work/xfs"
truncate -s "$xfs_size" "$work/xfs.img"
mkfs.xfs -q -f -m reflink=1 "$work/xfs.img"
mount -o loop "$work/xfs.img" "$work/xfs"

# The rootfs image, once: pseudo-random files (AES-CTR of zeros under a fixed
# key: deterministic and incompressible), then mke2fs -d with fixed times,
# UUID and hash seed.
tree=$work/ext4/tree
mkdir -p "$tree"
per=$(( files_mib / 30 > 0 ? files_mib / 30 : 1 ))
for ((i = 0; i < 30; i++)); do
  head -c "$((per << 20))" /dev/zero | openssl enc -aes-128-ctr -nosalt -K 000102030405060708090a0b0c0d0e0f -iv "$(printf '%032x' "$i")" > "$tree/f$i"
done
E2FSPROGS_FAKE_TIME=1700000000 mke2fs -q -t ext4 -U 5e1d9a8c-2b1f-4c59-9d0e-1f2a3b4c5d6e -E hash_seed=5e1d9a8c-2b1f-4c59-9d0e-1f2a3b4c5d6e \
  -d "$tree" "$work/ext4/rootfs.ext4" "${image_mib}M"
rm -rf "$tree"
for fs in ext4 xfs; do
  d=$work/$fs
  "$shared/make-workload.sh" "$d" 1 "$((N3 + 1))" "$N3SHA" "$N3EXT" "$CARDS" "$ncards" "$npool" >/dev/null
  [ "$fs" = xfs ] && cp "$work/ext4/rootfs.ext4" "$d/rootfs.ext4"
  sed -e "s/size: 8GiB/size: $disk/; s/size: 2GiB/size: $part/" "$root/recipes/bench-w3.yaml" > "$d/w3.yaml"
  cp "$root/recipes/bench-w1.yaml" "$d/w1.yaml"
done

# build FS RECIPE N FLAGS...: one timed build into FS/out
build() {
  local d=$work/$1 r=$2 n=$3; shift 3
  rm -rf "$d/out"
  timed "$bin" build "$d/$r" --devices "$d/devices-$n.csv" --out "$d/out" "$@"
}
declare -A T
# time_pair KEY FS RECIPE FLAGS...: t(1) and t(N3+1), alternated, REPS times
time_pair() {
  local key=$1 fs=$2 r=$3; shift 3
  for ((k = 0; k < REPS; k++)); do
    T[$key.1]+="$(build "$fs" "$r" 1 "$@") "
    T[$key.n]+="$(build "$fs" "$r" "$((N3 + 1))" "$@") "
  done
}
if [ "$mode" != --flash ]; then
time_pair xfs.deltas xfs w3.yaml --deltas
time_pair xfs.full xfs w3.yaml --digest blake3
time_pair xfs.w1 xfs w1.yaml --digest blake3
time_pair ext4.deltas ext4 w3.yaml --deltas
for ((k = 0; k < REPS; k++)); do
  T[ext4.full.1]+="$(build ext4 w3.yaml 1 --digest blake3) "
  T[ext4.full.m]+="$(build ext4 w3.yaml "$N3EXT" --digest blake3) "
  T[xfs.sha]+="$(build xfs w3.yaml "$N3SHA") "
  # The fixed-cost reference: copy the rootfs image once, then b3sum the base.
  build xfs w3.yaml 1 --deltas >/dev/null
  rm -f "$work/xfs/copy"
  T[xfs.copy]+="$(timed bash -c "cp --reflink=never '$work/xfs/rootfs.ext4' '$work/xfs/copy' && sync") "
  T[xfs.b3]+="$(timed b3sum "$work/xfs/out/base.img") "
done
rm -f "$work/xfs/copy"

rss() { # FS RECIPE N FLAGS...: peak RSS in MiB
  local d=$work/$1 r=$2 n=$3; shift 3
  rm -rf "$d/out"
  /usr/bin/time -o "$work/rss" -f '%M' "$bin" build "$d/$r" --devices "$d/devices-$n.csv" --out "$d/out" "$@" >/dev/null 2>&1
  echo $(( $(tail -n 1 "$work/rss") / 1024 ))
}
rss_station=$(rss xfs w3.yaml "$((N3 + 1))" --deltas)
rss_full=$(rss xfs w3.yaml "$((N3 + 1))" --digest blake3)

fi

# One core's SHA-256 rate (bytes/s), from openssl on 1 MiB blocks.
sha_rate=$(openssl speed -evp sha256 -bytes 1048576 -seconds 2 2>/dev/null | awk '/^sha256/ { v = $NF; sub(/k$/, "", v); print v * 1000 }')
cores=$(nproc)

# Flashing. The devices as station output (base plus deltas, CARDS of them)
# and as full images with bmaps (ncards of them, for the peer; on XFS: cheap
# reflinks).
fx=$work/xfs
"$bin" build "$fx/w3.yaml" --devices "$fx/devices-$CARDS.csv" --out "$fx/station" --deltas >/dev/null 2>&1
"$bin" build "$fx/w3.yaml" --devices "$fx/devices-$ncards.csv" --out "$fx/full" --digest blake3 --bmap >/dev/null 2>&1
disk_bytes=$(stat -c %s "$fx/station/base.img")
names=($(tail -n +2 "$fx/devices-$CARDS.csv" | cut -d, -f1))
full_names=($(tail -n +2 "$fx/devices-$ncards.csv" | cut -d, -f1))
# The simulated cards: nbdkit's file plugin over a sparse backing file,
# slowed by scripts/card-rate.c, made a file by nbdfuse and a block device by
# a loop device that reads and writes that file with O_DIRECT (so that every
# byte read back comes from the card, not from the page cache).
cc -O2 -Wall -shared -fPIC -o "$work/card-rate.so" "$root/scripts/card-rate.c" -lpthread
for ((c = 0; c < ncards; c++)); do
  m=$work/ext4/card$c
  mkdir -p "$m.mnt"
  truncate -s "$disk_bytes" "$m.back"
  nbdfuse "$m.mnt" [ nbdkit --exit-with-parent --filter="$work/card-rate.so" file "$m.back" \
    write-rate="${CARD_W}e6" read-rate="${CARD_R}e6" ] >"$m.log" 2>&1 &
  cards+=("$m.mnt")
  for ((w = 0; w < 50; w++)); do [ -e "$m.mnt/nbd" ] && break; sleep 0.1; done
  [ -e "$m.mnt/nbd" ] || { echo "bench-w3.sh: the simulated card $c did not come up:" >&2; cat "$m.log" >&2; exit 1; }
  loops+=("$(losetup --find --show --direct-io=on "$m.mnt/nbd")")
done
# The bytes each card must take and give back: the base's data plus the
# device's own regions (what burnline writes and reads back).
card_bytes=$(python3 - "$fx/station/base.img" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY); end = os.fstat(fd).st_size; off = total = 0
while off < end:
    try: data = os.lseek(fd, off, os.SEEK_DATA)
    except OSError: break
    hole = os.lseek(fd, data, os.SEEK_HOLE); total += hole - data; off = hole
print(total)
PY
)
# What each card really does, all cards at once, through its loop device:
# 32 MiB written with O_DIRECT (the card's own rate), 32 MiB written through
# the page cache and fsynced (the path burnline and bmaptool take), then 32
# MiB read back with O_DIRECT.
sync
ddpids=()
for ((c = 0; c < ncards; c++)); do
  ( l=${loops[$c]} t0=$(now)
    dd if=/dev/zero of="$l" bs=1M count=32 oflag=direct status=none
    t1=$(now)
    dd if=/dev/zero of="$l" bs=1M count=32 conv=fsync status=none
    t2=$(now); blockdev --flushbufs "$l"; t3=$(now)
    dd if="$l" of=/dev/null bs=1M count=32 iflag=direct status=none
    t4=$(now)
    awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" -v e="$t4" 'BEGIN { m = 32 * 1048576 / 1e6; printf "%.1f %.1f %.1f\n", m / (b - a), m / (c - b), m / (e - d) }' ) > "$work/dd.$c" &
  ddpids+=($!)
done
for p in "${ddpids[@]}"; do wait "$p"; done
card_rates=$(for ((c = 0; c < ncards; c++)); do cat "$work/dd.$c"; done)

burn_flash() {
  local args=("$fx/station/base.img") t=() c
  for n in "${names[@]}"; do args+=("$fx/station/$n.img.delta"); done
  for ((c = 0; c < CARDS; c++)); do t+=(--target "${loops[$c]}"); done
  "$bin" flash "${args[@]}" "${t[@]}"
}
# The peer reads back what bmaptool wrote, the bmap's ranges (byte offset
# and length a line), not the card's gigabytes of holes.
for n in "${full_names[@]}"; do
  python3 - "$fx/full/$n.img.bmap" > "$fx/full/$n.img.ranges" <<'PY'
import re, sys
x = open(sys.argv[1]).read()
bs = int(re.search(r"<BlockSize>\s*(\d+)", x).group(1))
for r in re.findall(r"<Range[^>]*>\s*([0-9-]+)\s*</Range>", x):
    a, _, b = r.partition("-")
    a = int(a); b = int(b or a)
    print(a * bs, (b - a + 1) * bs)
PY
done
peer_flash() { # N: bmaptool copy + cmp onto the first N cards, in parallel
  local pids=() c
  for ((c = 0; c < $1; c++)); do
    ( i=$fx/full/${full_names[$c]}.img
      bmaptool -q copy --bmap "$i.bmap" "$i" "${loops[$c]}" && blockdev --flushbufs "${loops[$c]}" &&
        while read -r s l; do cmp -i "$s:$s" -n "$l" "$i" "${loops[$c]}" || exit 1; done < "$i.ranges" ) &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
}
# The station path: one pool (SQLite) holding every identity the rows lease.
"$bin" pool init --db "sqlite:$fx/pool.db" --key-file "$fx/pool.key" >/dev/null 2>&1
"$bin" pool import "$fx/w3.yaml" --db "sqlite:$fx/pool.db" --devices "$fx/devices-$npool.csv" --key-file "$fx/pool.key" >/dev/null 2>&1
mkdir -p "$fx/pool-work"
# A new, blank card in each of the first N slots, as a line puts in fresh
# cards: each loop device detached, its card's backing file emptied (a
# sparse file again: no time on the card), and attached again, so the
# medium (its diskseq) is new too. The pool never writes a card it
# verified, nor one that holds an identity it has verified, so a repetition
# on the same cards would be refused, as it must be on a line.
new_cards() { # N
  local c
  for ((c = 0; c < $1; c++)); do
    losetup -d "${loops[$c]}"
    truncate -s 0 "${cards[$c]%.mnt}.back"
    truncate -s "$disk_bytes" "${cards[$c]%.mnt}.back"
    loops[$c]=$(losetup --find --show --direct-io=on "${cards[$c]}/nbd")
  done
}
pool_flash() { # N: flash --pool onto the first N cards; getrusage to $work/ru.N
  local t=() c
  for ((c = 0; c < $1; c++)); do t+=(--target "${loops[$c]}"); done
  /usr/bin/time -o "$work/ru.$1" -f '%U %S %M' "$bin" flash --pool "sqlite:$fx/pool.db" --recipe "$fx/w3.yaml" \
    --station bench --key-file "$fx/pool.key" --work-dir "$fx/pool-work" "${t[@]}"
}
# The floor: each card's bytes written with O_DIRECT (then fsynced) and
# read back with O_DIRECT by dd, 1 MiB at a time, on N cards at once.
floor_cards() { # N
  local pids=() c mib=$(((card_bytes + 1048575) / 1048576))
  for ((c = 0; c < $1; c++)); do
    ( dd if=/dev/zero of="${loops[$c]}" bs=1M count="$mib" oflag=direct conv=fsync status=none &&
      dd if="${loops[$c]}" of=/dev/null bs=1M count="$mib" iflag=direct status=none ) &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
}
order=(b p f)
for ((k = 0; k < REPS; k++)); do
  if [ "${STATION_ONLY:-0}" != 1 ]; then
    for c in "${order[@]}"; do
      case $c in
        b) T[flash.b]+="$(timed burn_flash) " ;;
        p) T[flash.p]+="$(timed peer_flash "$CARDS") " ;;
      esac
    done
  fi
  for n in $SLOTS; do
    for c in "${order[@]}"; do
      if [ "$c" = f ]; then
        new_cards "$n"
        T[pool.$n.f]+="$(timed floor_cards "$n") "
      elif [ "$c" = b ]; then
        new_cards "$n"
        T[pool.$n]+="$(timed pool_flash "$n") "
        read -r u s rss < <(tail -n 1 "$work/ru.$n")
        T[pool.$n.cpu]+="$(awk -v u="$u" -v s="$s" -v n="$n" 'BEGIN { printf "%.3f", (u + s) / n }') "
        T[pool.$n.tot]+="$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.3f", u + s }') "
        T[pool.$n.rss]+="$((rss / 1024)) "
      else
        T[pool.$n.p]+="$(timed peer_flash "$n") "
      fi
    done
  done
  order=("${order[@]:1}" "${order[0]}")
done

m() { echo "${T[$1]}" | median; }
echo "W3: disk $disk, rootfs partition $part holding a ${image_mib} MiB ext4 image; medians of $REPS run(s); $cores cores; SHA-256 $(awk -v r="$sha_rate" 'BEGIN { printf "%.0f", r / 1e6 }') MB/s on one core"
if [ "$mode" != --flash ]; then
marg() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.2f", (b - a) / n * 1000 }'; }
w1m=$(marg "$(m xfs.w1.1)" "$(m xfs.w1.n)" "$N3")
ref=$(awk -v c="$(m xfs.copy)" -v b="$(m xfs.b3)" 'BEGIN { printf "%.3f", c + b }')
for k in deltas full; do
  t1=$(m "xfs.$k.1") tn=$(m "xfs.$k.n") mg=$(marg "$(m "xfs.$k.1")" "$(m "xfs.$k.n")" "$N3")
  flags="--deltas"; [ "$k" = full ] && flags="--digest blake3"
  awk -v k="$k" -v f="$flags" -v t1="$t1" -v tn="$tn" -v n="$((N3 + 1))" -v mg="$mg" -v w1="$w1m" -v ref="$ref" 'BEGIN {
    printf "W3 xfs %s (%s): t(1) %.3f s, t(%d) %.3f s, marginal %.2f ms/device (W1 %.2f ms, ratio %.2f), fixed cost/(copy rootfs + b3sum base = %.3f s) %.2f\n", k, f, t1, n, tn, mg, w1, (w1 > 0 ? mg / w1 : 0), ref, t1 / ref }'
done
t1=$(m ext4.deltas.1) tn=$(m ext4.deltas.n)
awk -v t1="$t1" -v tn="$tn" -v n="$N3" 'BEGIN { printf "W3 ext4 deltas (--deltas): t(1) %.3f s, t(%d) %.3f s, marginal %.2f ms/device\n", t1, n + 1, tn, (tn - t1) / n * 1000 }'
t1=$(m ext4.full.1) tm=$(m ext4.full.m)
awk -v t1="$t1" -v tm="$tm" -v n="$N3EXT" 'BEGIN { printf "W3 ext4 full (--digest blake3): t(1) %.3f s, t(%d) %.3f s, marginal %.3f s/device\n", t1, n, tm, (n > 1 ? (tm - t1) / (n - 1) : 0) }'
awk -v t="$(m xfs.sha)" -v n="$N3SHA" -v d="$disk_bytes" -v r="$sha_rate" -v c="$cores" 'BEGIN {
  bound = n * d / (r * c); printf "W3 xfs defaults (SHA-256): N=%d %.3f s, SHA-256 bound %.3f s, ratio %.2f\n", n, t, bound, t / bound }'
echo "W3 peak RSS, N=$((N3 + 1)): deltas $rss_station MiB, full images $rss_full MiB"
fi
echo "$card_rates" | awk '{ printf "%s card%d %s/%s/%s", (NR > 1 ? "," : ""), NR - 1, $1, $2, $3 } END { printf "\n" }' |
  sed "s|^|simulated cards (nbdkit + card-rate filter at $CARD_W MB/s write, $CARD_R MB/s read; dd of 32 MiB, all at once, MB/s of O_DIRECT write/buffered write + fsync/O_DIRECT read):|"
[ "${STATION_ONLY:-0}" = 1 ] ||
awk -v b="$(m flash.b)" -v p="$(m flash.p)" -v cb="$card_bytes" -v w="$CARD_W" -v r="$CARD_R" -v n="$CARDS" 'BEGIN {
  ideal = cb / (w * 1e6) + cb / (r * 1e6)
  printf "flash W3 to %d cards (%g MB/s write, %g MB/s read): %.1f MB a card; burnline %.2f s, bmaptool+cmp %.2f s, bmaptool/burnline %.2f, bandwidth use %.2f, %.0f cards/hour\n", n, w, r, cb / 1e6, b, p, p / b, ideal / b, n * 3600 / b }'
# The station rows, one table: bandwidth use is the time the cards need for
# the bytes each must take and give back (written at CARD_W, read back at
# CARD_R) over the time taken.
echo "station W3: flash --pool sqlite:… --recipe w3.yaml (the base built from the recipe, a leased identity a card) onto SLOTS cards at once"
printf '%-7s %5s %10s %9s %8s %13s %13s %14s %13s %10s %12s %10s %7s\n' row slots burnline_s peer_s floor_s bandwidth_use floor_bw_use floor/burnline peer/burnline cards/hour peer_cards/h cpu_s/card rss_mib
for n in $SLOTS; do
  awk -v n="$n" -v b="$(m "pool.$n")" -v p="$(m "pool.$n.p")" -v f="$(m "pool.$n.f")" -v cpu="$(m "pool.$n.cpu")" -v rss="$(m "pool.$n.rss")" -v cb="$card_bytes" -v w="$CARD_W" -v r="$CARD_R" 'BEGIN {
    ideal = cb / (w * 1e6) + cb / (r * 1e6)
    printf "%-7s %5d %10.2f %9.2f %8.2f %13.2f %13.2f %14.2f %13.2f %10.0f %12.0f %10.3f %7d\n", "station", n, b, p, f, ideal / b, ideal / f, f / b, p / b, n * 3600 / b, n * 3600 / p, cpu, rss }'
done
echo "(peer: bmaptool copy + blockdev --flushbufs + cmp of the bmap's ranges, one per card, in parallel; floor: dd O_DIRECT of each card's bytes, written then read back, all cards at once, and floor_bw_use its own bandwidth use; cpu_s/card: user + sys of the burnline process over its cards; rss_mib: its peak RSS)"
# With two slot counts, a run's CPU splits into what each card costs and
# what the run costs once (the base built from the recipe and hashed, the
# pool opened): a station serving all day pays the latter once.
read -r n1 n2 _ <<< "$SLOTS"
if [ -n "${n2:-}" ] && [ "$n2" != "$n1" ]; then
  awk -v a="$(m "pool.$n1.tot")" -v b="$(m "pool.$n2.tot")" -v n1="$n1" -v n2="$n2" 'BEGIN {
    c = (b - a) / (n2 - n1); printf "station CPU (user + sys): %.3f s a card beyond the run'"'"'s own, %.2f s a run (from the %d- and %d-slot medians)\n", c, a - c * n1, n1, n2 }'
fi
