//! Fuzzes the partition-table reader that `burnline inspect` and the
//! bootstrap share (`burnline_core::table::read`), and the bootstrap's lookup
//! of its credentials partition on top of it, with arbitrary disk bytes: they
//! must never panic, and every partition they return lies inside the device.
#![no_main]

use burnline_core::credentials::locate::{self, Where};
use burnline_core::table;
use libfuzzer_sys::fuzz_target;
use std::io::Cursor;

fuzz_target!(|data: &[u8]| {
    let len = data.len() as u64;
    let inside = |start: u64, size: u64| start.checked_add(size).is_some_and(|end| end <= len);
    let mut dev = Cursor::new(data.to_vec());
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
});
