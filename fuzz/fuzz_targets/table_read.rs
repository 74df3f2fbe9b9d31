//! Fuzzes the partition-table reader that `burnline inspect` and the
//! bootstrap share (`burnline_core::table::read`), and the bootstrap's lookup
//! of its credentials partition on top of it, with arbitrary disk bytes: they
//! must never panic, and every partition they return lies inside the device.
//! Each input is read as it is and, so that the fuzzer reaches past the
//! checksums, once more with the CRC32s of every GPT header (and of the entry
//! array it names) made valid.
#![no_main]

use burnline_core::credentials::locate::{self, Where};
use burnline_core::table;
use libfuzzer_sys::fuzz_target;
use std::io::Cursor;

fn le(b: &[u8]) -> u64 {
    b.iter().rev().fold(0, |v, x| (v << 8) | u64::from(*x))
}

/// Makes the CRC32s of the GPT headers at LBA 1 and the last LBA valid, for
/// 512- and 4096-byte sectors, where the bytes allow it.
fn with_valid_crcs(data: &[u8]) -> Vec<u8> {
    let mut d = data.to_vec();
    let len = d.len();
    for ss in [512usize, 4096] {
        for lba in [1, (len / ss).saturating_sub(1)] {
            let at = lba * ss;
            if lba == 0 || at + 92 > len || &d[at..at + 8] != b"EFI PART" {
                continue;
            }
            let start = le(&d[at + 72..at + 80]).saturating_mul(ss as u64);
            let array = le(&d[at + 80..at + 84]).saturating_mul(le(&d[at + 84..at + 88]));
            if let (Ok(s), Ok(n)) = (usize::try_from(start), usize::try_from(array)) {
                if s.checked_add(n).is_some_and(|e| e <= len) {
                    let crc = crc32fast::hash(&d[s..s + n]);
                    d[at + 88..at + 92].copy_from_slice(&crc.to_le_bytes());
                }
            }
            d[at + 16..at + 20].fill(0);
            let crc = crc32fast::hash(&d[at..at + 92]);
            d[at + 16..at + 20].copy_from_slice(&crc.to_le_bytes());
        }
    }
    d
}

fn check(bytes: Vec<u8>) {
    let len = bytes.len() as u64;
    let inside = |start: u64, size: u64| start.checked_add(size).is_some_and(|end| end <= len);
    let mut dev = Cursor::new(bytes);
    if let Ok(t) = table::read(&mut dev) {
        assert_eq!(t.device_size, len);
        for p in &t.partitions {
            assert!(inside(p.start, p.size), "{p:?} outside {len} bytes");
        }
    }
    for name in ["creds", "1", "2"] {
        if let Ok(p) = locate::find(&mut dev, &Where::Named(name.into())) {
            assert!(inside(p.offset, p.size), "{p:?} outside {len} bytes");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    check(data.to_vec());
    check(with_valid_crcs(data));
});
