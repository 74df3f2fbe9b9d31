#!/usr/bin/env bash
# Runs the record decoder's fuzz target for a bounded time (default 60 s).
# cargo-fuzz drives libFuzzer through unstable rustc flags; the machine has a
# stable toolchain only, so RUSTC_BOOTSTRAP=1 lets it accept them, and the
# sanitizer is off (its runtime ships with nightly toolchains only).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz
mkdir -p fuzz/corpus/record_decode
# Seed the corpus with a real record partition.
python3 - <<'PY'
import hashlib, struct
payload = b'{"product_key":"a1X2bEnP82z","device_name":"example1","product_secret":"7jluWm1zql7bt8qK"}'
head = b"BURNCRED" + struct.pack("<HHIQ", 1, 64, len(payload), 1)
slot = head + hashlib.sha256(head + payload).digest() + bytes(8) + payload
part = slot + bytes(1024 - len(slot)) + bytes(1024)
open("fuzz/corpus/record_decode/seed", "wb").write(part)
PY
RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none record_decode fuzz/corpus/record_decode -- -max_total_time="$seconds" -max_len=4096
