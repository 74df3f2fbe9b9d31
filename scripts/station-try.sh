#!/usr/bin/env bash
# station-try.sh: try the station on a laptop, without a card reader.
#
# Makes a throwaway station in a temp directory (a small 8 MiB recipe,
# test identities in a fresh SQLite pool, a station.yaml), takes free loop
# devices as its slots, serves the operator page, and puts a blank 16 MiB
# "card" (a file on a loop device) in every slot, so the page shows each
# card written, verified and done. Enter puts fresh cards in; Ctrl-C stops
# the station and cleans up: the loop devices are detached and the temp
# directory removed (also when something fails on the way).
#
# Usage: sudo scripts/station-try.sh [--slots N] [--listen ADDR] [--burnline PATH]
#   --slots N        how many slots (loop devices), 1 to 8; default 2
#   --listen ADDR    the page's address; default 127.0.0.1:8080
#   --burnline PATH  the burnline binary; default `burnline` on PATH
# Root is needed for the loop devices. TMPDIR says where the temp
# directory goes.

set -euo pipefail

slots=2
listen=127.0.0.1:8080
burnline=${BURNLINE:-burnline}

die() {
    echo "station-try: $*" >&2
    exit 2
}

while [ $# -gt 0 ]; do
    case "$1" in
    --slots) slots=${2:?--slots needs a number}; shift 2 ;;
    --listen) listen=${2:?--listen needs an address}; shift 2 ;;
    --burnline) burnline=${2:?--burnline needs a path}; shift 2 ;;
    -h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
    esac
done
case "$slots" in
[1-8]) ;;
*) die "--slots $slots: give 1 to 8" ;;
esac
[ "$(id -u)" = 0 ] || die "run it as root (sudo): it attaches loop devices"
command -v losetup >/dev/null || die "losetup is missing (apt install mount)"
command -v "$burnline" >/dev/null || die "$burnline not found: install burnline, or give --burnline target/debug/burnline"
burnline=$(command -v "$burnline")

work=$(mktemp -d "${TMPDIR:-/tmp}/burnline-try.XXXXXX")
devs=()
station_pid=

# Stops the station, detaches every loop device that holds one of this
# run's files, removes the temp directory.
cleanup() {
    trap - EXIT INT TERM
    if [ -n "$station_pid" ]; then
        kill -TERM "$station_pid" 2>/dev/null || true
        wait "$station_pid" 2>/dev/null || true
    fi
    local f d
    for f in "$work"/card-*.img; do
        [ -e "$f" ] || continue
        for d in $(losetup --list --noheadings --output NAME --associated "$f"); do
            losetup -d "$d" 2>/dev/null || true
        done
    done
    rm -rf "$work"
    echo "station-try: stopped; loop devices detached, $work removed" >&2
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cd "$work"
echo "hello from the base image" >hello.txt
cat >recipe.yaml <<'EOF'
disk: {size: 8MiB, table: gpt, seed: 0123456789abcdef0123456789abcdef}
partitions:
  - {name: boot, size: 2MiB, type: esp, fat: {files: [{source: hello.txt, dest: /hello.txt}]}}
  - {name: creds, size: 1MiB, credentials: {}}
  - {name: data, size: fill}
auth: {mode: device-secret, product_key: a1X2bEnP82z}
EOF
{
    echo "DeviceName,DeviceSecret,ProductKey"
    for i in $(seq 1 50); do
        printf 'try-%04d,ga7XA6KdlEeiPXQPpRbAjOZXwG8yd%03d,a1X2bEnP82z\n' "$i" "$i"
    done
} >devices.csv
"$burnline" pool init --db sqlite:pool.db --key-file pool.key
"$burnline" pool import --db sqlite:pool.db recipe.yaml --devices devices.csv --key-file pool.key

# The slots: free loop devices from 100 up (where `losetup --find`, which
# takes the lowest, seldom reaches), each made by attaching a first card
# and emptied again, so the station starts with no card in (a card already
# in at start-up is not written).
n=100
for i in $(seq 1 "$slots"); do
    truncate -s 16M "card-$i-1.img"
    until [ "$n" -ge 200 ]; do
        n=$((n + 1))
        [ -e "/sys/block/loop$n/loop" ] && continue
        losetup "/dev/loop$n" "card-$i-1.img" 2>/dev/null && break
    done
    [ "$n" -lt 200 ] || die "no free loop device between /dev/loop101 and /dev/loop199"
    devs+=("/dev/loop$n")
done
for d in "${devs[@]}"; do losetup -d "$d"; done
{
    echo "recipe: recipe.yaml"
    echo "pool: 'sqlite:pool.db'"
    echo "key_file: pool.key"
    echo "station: try-1"
    echo "work_dir: work"
    echo "listen: '$listen'"
    echo "slots:"
    for d in "${devs[@]}"; do echo "  - path: $d"; done
} >station.yaml

host=${listen%:*}
port=${listen##*:}
host=${host#[}
host=${host%]}
if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
    die "$listen is in use (another station, or the emulator?): give --listen ADDR"
fi
"$burnline" station serve --config station.yaml &
station_pid=$!
until (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; do
    kill -0 "$station_pid" 2>/dev/null || die "the station stopped before it listened on $listen"
    sleep 0.2
done

# Puts card number $2 in every slot.
insert() {
    local i=0 d
    for d in "${devs[@]}"; do
        i=$((i + 1))
        [ -e "card-$i-$1.img" ] || truncate -s 16M "card-$i-$1.img"
        losetup "$d" "card-$i-$1.img" || echo "station-try: $d is still busy; press Enter again" >&2
    done
}
insert 1
echo "station-try: open http://$listen/ : ${#devs[@]} slot(s) (${devs[*]}), a card in each." >&2
echo "station-try: Enter: pull the cards and put fresh ones in; Ctrl-C: stop and clean up." >&2
round=1
while read -r _; do
    for d in "${devs[@]}"; do losetup -d "$d" 2>/dev/null || true; done
    sleep 2
    round=$((round + 1))
    insert "$round"
done
wait "$station_pid"
