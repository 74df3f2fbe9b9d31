#!/usr/bin/env bash
# Runs every test of burnline. Installs the field tools the tests use
# (Debian packages) when one is missing, then runs the whole suite in release
# mode, after `cargo fmt --check` and `cargo clippy -D warnings`. Needs root
# for apt-get, for the XFS loop-mount test and for the boot test's rootfs
# (tests/boot.rs, which also downloads Debian packages: the archive must be
# reachable, and apt's lists fresh for the kernel package).
set -euo pipefail
cd "$(dirname "$0")/.."

# The pool tests need PostgreSQL (a throwaway cluster: initdb, pg_ctl) and
# sqlite3; the signing tests minisign and age; the sparse tests simg2img and
# img2simg; the station page's tests chromium and zbarimg; the card written
# by splice(2) (tests/station.rs) strace.
# The boot test (tests/boot.rs) also needs mmdebstrap, socat, busybox-static
# and QEMU (qemu-system-x86, without its GUI: installed apart, without
# recommends). The ARM cases (tests/bootstrap_arm.rs, tests/station_arm.rs)
# need qemu-user-static and file; the arm64 boot qemu-system-arm (also without
# recommends).
packages=(dosfstools mtools gdisk fdisk xfsprogs e2fsprogs util-linux binutils bmap-tools zstd xz-utils gzip openssl genimage time python3 python3-venv systemd b3sum mosquitto-clients mmdebstrap socat busybox-static postgresql sqlite3 minisign age android-sdk-libsparse-utils zbar-tools chromium nbdkit nbdkit-plugin-dev libnbd-bin gcc libssl-dev pkg-config qemu-user-static file strace)
tools=(fsck.fat mcopy sgdisk sfdisk mkfs.xfs filefrag mount nm bmaptool zstd xz gzip openssl genimage /usr/bin/time python3 systemd-analyze b3sum mosquitto_pub node npm mmdebstrap socat busybox mke2fs qemu-system-x86_64 pg_ctlcluster sqlite3 minisign age simg2img img2simg zbarimg chromium pkg-config qemu-aarch64-static qemu-arm-static file qemu-system-aarch64 strace)
missing=0
for t in "${tools[@]}"; do command -v "$t" >/dev/null 2>&1 || missing=1; done
# The emulator's TLS (the openssl crate) builds against libssl-dev.
[ -f /usr/include/openssl/ssl.h ] || missing=1
# The bench smoke test's simulated SD cards (scripts/bench-w3.sh): nbdkit
# with a filter built from scripts/card-rate.c, behind nbdfuse.
for t in nbdkit nbdfuse cc; do command -v "$t" >/dev/null 2>&1 || missing=1; done
[ -f /usr/include/nbdkit-filter.h ] || missing=1
if [ "$missing" = 1 ]; then
  echo "test.sh: installing the test tools: ${packages[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-system-x86 qemu-system-arm >/dev/null
fi
# Node.js with npm (Alibaba's Node SDK): NodeSource's nodejs, which machines
# of this kind have, conflicts with Debian's npm; Debian's only when missing.
if ! command -v npm >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi

# The real MQTT clients (Alibaba's Python and Node SDKs) in target/test-clients
# (the tests also call this; it does the work once).
scripts/test-clients.sh >/dev/null

# mdbook, which tests/book.rs builds the book in docs/ with: the pinned
# version, installed once into target/tools (only the `search` feature: the
# tests need `mdbook build` alone).
MDBOOK_VERSION=0.5.4
if [ "$(target/tools/bin/mdbook --version 2>/dev/null)" != "mdbook v$MDBOOK_VERSION" ]; then
  cargo install mdbook --locked --quiet --version "$MDBOOK_VERSION" \
    --no-default-features --features search --root target/tools
fi

# cargo-deb, for the .deb tests/install.rs makes and installs (once).
command -v cargo-deb >/dev/null 2>&1 || cargo install cargo-deb --locked

# The fuzz targets (record decoder, table reader), for a bounded total time
# (installs cargo-fuzz once).
scripts/fuzz.sh "${FUZZ_SECONDS:-60}" 2>&1 | tail -n 3

# The checks a reviewer runs: formatting and every lint, on the whole workspace
# (with the tests' failpoints, as they are built below).
cargo fmt --all --check
cargo clippy --release --workspace --all-targets --features burnline/failpoints -- -D warnings

# The ARM binaries the ARM tests run under qemu-user: the bootstrap for
# aarch64 and armv7, the host tool for aarch64, static, built by Debian
# trixie's rustc 1.85 (the declared rust-version) in a chroot cached under
# target/cross.
scripts/cross-bootstrap.sh
scripts/cross-bootstrap.sh -p burnline aarch64-unknown-linux-gnu

# The host tool, the shared crate and the device-side bootstrap (its own
# crate, built next to `burnline` so that the tests can run it), with the
# crash and sleep points that `FAILPOINTS` drives (`--features failpoints`).
# The bench smoke test runs examples/pool_lease_rate, which --all-targets
# builds only as a test harness: the program itself first.
cargo build --release -p burnline --example pool_lease_rate --features burnline/failpoints
cargo test --release --workspace --all-targets --features burnline/failpoints

# A build without them, as a release is, must ignore `FAILPOINTS`: one test
# file built that way (it rebuilds only the burnline crate, not its
# dependencies), whose `failpoints_act_only_in_a_build_with_the_feature`
# checks it.
cargo test --release -p burnline --test secret_inputs
