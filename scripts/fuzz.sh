#!/usr/bin/env bash
# Runs the fuzz targets for a bounded total time (default 60 s, split
# between them): record_decode (the credential record decoder),
# table_read (the partition-table reader of `inspect` and the bootstrap)
# and sparse_read (the Android sparse reader of `flash`).
# cargo-fuzz drives libFuzzer through unstable rustc flags; the machine has a
# stable toolchain only, so RUSTC_BOOTSTRAP=1 lets it accept them, and the
# sanitizer is off (its runtime ships with nightly toolchains only). Debug
# assertions are on (-a), so an arithmetic overflow is a crash too.
set -euo pipefail
cd "$(dirname "$0")/.."
total=${1:-60}
targets=(record_decode table_read sparse_read)
each=$(( total / ${#targets[@]} ))
(( each >= 1 )) || each=1
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz
mkdir -p fuzz/corpus/record_decode fuzz/corpus/table_read fuzz/corpus/sparse_read
# Seeds: a real record partition; a small GPT (4 entries) and an MBR with an
# extended partition holding two logical ones; an Android sparse file with
# each of the four chunk types (its CRC32 chunk right).
python3 - <<'PY'
import hashlib, struct, zlib, uuid
payload = b'{"product_key":"a1X2bEnP82z","device_name":"example1","product_secret":"7jluWm1zql7bt8qK"}'
head = b"BURNCRED" + struct.pack("<HHIQ", 1, 64, len(payload), 1)
slot = head + hashlib.sha256(head + payload).digest() + bytes(8) + payload
part = slot + bytes(1024 - len(slot)) + bytes(1024)
open("fuzz/corpus/record_decode/seed", "wb").write(part)

# GPT, 512-byte sectors, 16 sectors: entries at LBA 2 and 14, headers at 1 and 15.
sectors, entries = 16, 4
disk = bytearray(sectors * 512)
disk[446:462] = struct.pack("<B3sB3sII", 0, b"\0\0\0", 0xEE, b"\0\0\0", 1, sectors - 1)
disk[510:512] = b"\x55\xaa"
linux = uuid.UUID("0FC63DAF-8483-4772-8E79-3D69D8477DE4").bytes_le
array = bytearray(entries * 128)
for i, (first, last, name) in enumerate([(4, 7, "creds"), (8, 12, "data")]):
    e = linux + uuid.UUID(int=i + 1).bytes_le + struct.pack("<QQQ", first, last, 0)
    e += name.encode("utf-16-le").ljust(72, b"\0")
    array[i * 128:(i + 1) * 128] = e
def header(my, alt, entries_lba):
    h = bytearray(b"EFI PART" + struct.pack("<IIII", 0x10000, 92, 0, 0))
    h += struct.pack("<QQQQ", my, alt, 4, 13) + uuid.UUID(int=99).bytes_le
    h += struct.pack("<QIII", entries_lba, entries, 128, zlib.crc32(bytes(array)))
    h[16:20] = struct.pack("<I", zlib.crc32(bytes(h)))
    return bytes(h)
disk[512:604] = header(1, sectors - 1, 2)
disk[1024:1024 + len(array)] = array
disk[14 * 512:14 * 512 + len(array)] = array
disk[(sectors - 1) * 512:(sectors - 1) * 512 + 92] = header(sectors - 1, 1, 14)
open("fuzz/corpus/table_read/gpt", "wb").write(bytes(disk))

# MBR: partition 1 at LBA 1, an extended partition at LBA 3 with EBRs at 3 and 5.
mbr = bytearray(8 * 512)
def entry(sys, start, count):
    return struct.pack("<B3sB3sII", 0, b"\0\0\0", sys, b"\0\0\0", start, count)
mbr[446:462] = entry(0x83, 1, 2)
mbr[462:478] = entry(0x05, 3, 5)
mbr[510:512] = b"\x55\xaa"
for at, nxt in [(3, 2), (5, 0)]:
    o = at * 512
    mbr[o + 446:o + 462] = entry(0x83, 1, 1)
    mbr[o + 462:o + 478] = entry(0x05, nxt, 2) if nxt else bytes(16)
    mbr[o + 510:o + 512] = b"\x55\xaa"
open("fuzz/corpus/table_read/mbr", "wb").write(bytes(mbr))

# Android sparse, 1 KiB blocks, 6 blocks: RAW 2, FILL 1, DONT_CARE 3, CRC32.
bs, raw = 1024, bytes(range(256)) * 8
image = raw + struct.pack("<I", 0xA5A5F00D) * (bs // 4) + bytes(3 * bs)
simg = struct.pack("<IHHHHIIII", 0xED26FF3A, 1, 0, 28, 12, bs, 6, 4, 0)
simg += struct.pack("<HHII", 0xCAC1, 0, 2, 12 + len(raw)) + raw
simg += struct.pack("<HHIII", 0xCAC2, 0, 1, 16, 0xA5A5F00D)
simg += struct.pack("<HHII", 0xCAC3, 0, 3, 12)
simg += struct.pack("<HHIII", 0xCAC4, 0, 0, 16, zlib.crc32(image))
open("fuzz/corpus/sparse_read/seed", "wb").write(simg)
PY
for t in "${targets[@]}"; do
  RUSTC_BOOTSTRAP=1 cargo fuzz run -a --sanitizer none "$t" "fuzz/corpus/$t" -- \
    -max_total_time="$each" -max_len=16384
done
