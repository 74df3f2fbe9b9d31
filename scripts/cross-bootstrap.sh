#!/usr/bin/env bash
# Cross-builds burnline for ARM gateways and stations: `burnline-bootstrap`
# for aarch64-unknown-linux-gnu and armv7-unknown-linux-gnueabihf (and, with
# -p burnline, the host tool), statically linked against glibc
# (`+crt-static`), so that one binary runs on whatever libc a board has.
#
#   scripts/cross-bootstrap.sh [-p PACKAGE]... [TRIPLE]...
#
# Defaults: -p burnline-bootstrap, both triples. The binaries land where cargo
# puts them: target/<triple>/release/<binary>.
#
# The toolchain comes from Debian's registry only (rustup cannot fetch target
# standard libraries here): a Debian 13 (trixie) chroot made by mmdebstrap
# with rustc/cargo 1.85, libstd-rust-dev for arm64 and armhf and the GNU
# cross compilers. It is cached in $CROSS_CACHE (default target/cross), under
# a key of its inputs (the mmdebstrap command line); building it takes a few
# minutes and about 1.5 GB. Cargo inside it resolves nothing: it builds the
# committed Cargo.lock (--locked), which .cargo/config.toml resolves for the
# declared rust-version. Needs root (chroot, mounts) and mmdebstrap; reaches
# the Debian archive and crates.io.
set -euo pipefail

die() {
  echo "cross-bootstrap.sh: $*" >&2
  exit 1
}

packages=()
triples=()
while [ $# -gt 0 ]; do
  case $1 in
    -p) [ $# -ge 2 ] || die "-p needs a package"; packages+=("$2"); shift 2 ;;
    -h | --help) sed -n '2,20p' "$0"; exit 0 ;;
    -*) die "unknown option $1 (usage: scripts/cross-bootstrap.sh [-p PACKAGE]... [TRIPLE]...)" ;;
    *) triples+=("$1"); shift ;;
  esac
done
[ ${#packages[@]} -gt 0 ] || packages=(burnline-bootstrap)
[ ${#triples[@]} -gt 0 ] || triples=(aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf)
for t in "${triples[@]}"; do
  case $t in
    aarch64-unknown-linux-gnu | armv7-unknown-linux-gnueabihf) ;;
    *) die "$t: not a target this script builds (aarch64-unknown-linux-gnu, armv7-unknown-linux-gnueabihf)" ;;
  esac
done

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${CROSS_CACHE:-$repo/target/cross}
command -v mmdebstrap >/dev/null 2>&1 || die "mmdebstrap is missing: apt-get install mmdebstrap"
[ "$(id -u)" -eq 0 ] || die "needs root (chroot and its mounts)"
ca=/etc/ssl/certs/ca-certificates.crt
[ -f "$ca" ] || die "$ca: no CA bundle (apt-get install ca-certificates); cargo needs it to reach crates.io"
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9

# 1. The toolchain chroot, keyed on the command that makes it.
mirror=${CROSS_MIRROR:-http://deb.debian.org/debian}
mm=(mmdebstrap --variant=apt --architectures=amd64,arm64,armhf
  --include=rustc,cargo,libstd-rust-dev:arm64,libstd-rust-dev:armhf,gcc-aarch64-linux-gnu,gcc-arm-linux-gnueabihf,libc6-dev-arm64-cross,libc6-dev-armhf-cross,ca-certificates,pkgconf
  "--dpkgopt=path-exclude=/usr/share/man/*" "--dpkgopt=path-exclude=/usr/share/doc/*"
  "--dpkgopt=path-exclude=/usr/share/locale/*" --quiet trixie)
key=$({ printf '%s\n' "${mm[@]}" "$mirror"; } | sha256sum | cut -c1-16)
root=$cache/trixie-$key
if [ ! -f "$root/.done" ]; then
  echo "cross-bootstrap.sh: making the trixie toolchain chroot (mmdebstrap, a few minutes)" >&2
  rm -rf "$root" "$cache"/trixie-*.tmp
  "${mm[@]}" "$root.tmp" "$mirror" >"$cache/mmdebstrap.log" 2>&1 ||
    { tail -n 30 "$cache/mmdebstrap.log" >&2; die "mmdebstrap failed (log: $cache/mmdebstrap.log)"; }
  mv "$root.tmp" "$root"
  touch "$root/.done"
  # Older chroots (other keys) are no longer used.
  for old in "$cache"/trixie-*; do [ "$old" = "$root" ] || rm -rf "$old"; done
fi

# 2. Build inside it, with the source tree, cargo's home and the network.
mounted=()
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount "${mounted[$i]}" 2>/dev/null || umount -l "${mounted[$i]}"; done
}
trap cleanup EXIT
mkdir -p "$root/src" "$cache/cargo-home" "$root/cargo-home"
for m in proc dev src cargo-home; do mountpoint -q "$root/$m" && umount -l "$root/$m"; done
mount -t proc proc "$root/proc" && mounted+=("$root/proc")
mount --bind /dev "$root/dev" && mounted+=("$root/dev")
mount --bind "$repo" "$root/src" && mounted+=("$root/src")
mount --bind "$cache/cargo-home" "$root/cargo-home" && mounted+=("$root/cargo-home")
cp "$ca" "$root/etc/ssl/certs/ca-certificates.crt"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

pkg_args=()
for p in "${packages[@]}"; do pkg_args+=(-p "$p"); done
# The host tool carries no platform emulator (that is the burnline-emulator
# crate, not built here), and so no OpenSSL, which has no static cross build
# in the chroot.
for t in "${triples[@]}"; do
  case $t in
    aarch64-*) cc=aarch64-linux-gnu-gcc ;;
    armv7-*) cc=arm-linux-gnueabihf-gcc ;;
  esac
  tu=$(echo "$t" | tr 'a-z-' 'A-Z_')
  tl=$(echo "$t" | tr '-' '_')
  echo "cross-bootstrap.sh: building ${packages[*]} for $t" >&2
  chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root CARGO_HOME=/cargo-home \
    CARGO_TARGET_DIR=/src/target CARGO_HTTP_CAINFO=/etc/ssl/certs/ca-certificates.crt \
    "CARGO_TARGET_${tu}_LINKER=$cc" "CC_${tl}=$cc" "AR_${tl}=${cc%gcc}ar" \
    "CARGO_TARGET_${tu}_RUSTFLAGS=-C target-feature=+crt-static" \
    sh -c 'cd /src && exec cargo build --locked --release "$@"' cargo "${pkg_args[@]}" --target "$t"
done
for t in "${triples[@]}"; do
  for p in "${packages[@]}"; do
    bin=$repo/target/$t/release/$p
    [ -x "$bin" ] || die "$bin was not built"
    echo "cross-bootstrap.sh: $bin ($(stat -c %s "$bin") bytes)" >&2
  done
done
