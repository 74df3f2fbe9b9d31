#!/usr/bin/env bash
# Makes the .deb from binaries already built: generates the man pages and
# shell completions next to them (`burnline generate`), then runs
# `cargo deb --no-build` ([package.metadata.deb] in Cargo.toml).
#
#   cargo build --release --workspace --locked && scripts/deb.sh [OUT_DIR]
#
# PROFILE=dev packages the debug build instead (the tests do). The .deb is
# written to OUT_DIR (default: TARGET/debian). Needs cargo-deb
# (`cargo install cargo-deb --locked`; scripts/test.sh does).
set -euo pipefail

die() {
  echo "deb.sh: $*" >&2
  exit 1
}

repo=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
profile=${PROFILE:-release}
case $profile in
  release) bin=$target/release ;;
  dev) bin=$target/debug ;;
  *) die "PROFILE must be release or dev, not $profile" ;;
esac
out=${1:-$target/debian}
command -v cargo-deb >/dev/null 2>&1 || die "cargo-deb is missing: cargo install cargo-deb --locked"
for b in burnline burnline-bootstrap burnline-emulator; do
  [ -x "$bin/$b" ] || die "$bin/$b is missing: cargo build --workspace --locked (--release)"
done
"$bin/burnline" generate man "$bin/man"
"$bin/burnline" generate completions "$bin/completions"
mkdir -p "$out"
cd "$repo"
# A debug binary is large: strip it (into the package only) and compress fast.
extra=()
[ "$profile" = dev ] && extra=(--strip --fast)
cargo deb --no-build --locked --profile "$profile" "${extra[@]}" -p burnline -o "$out"
