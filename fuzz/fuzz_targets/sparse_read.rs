//! Fuzzes the Android sparse reader (`burnline_sparse`), which `flash` runs
//! on `.simg` files from anywhere, with arbitrary bytes: it must never
//! panic or overflow; a file it accepts has chunks that follow each other
//! and cover exactly the header's blocks, with RAW data inside the file;
//! and the expanding reader agrees with the checked walk: it refuses every
//! file the walk refuses, and gives an accepted file's image at its full
//! size (or stops at a CRC32 chunk that does not match).
#![no_main]

use burnline_sparse::{layout, ChunkKind, SparseError, SparseReader};
use libfuzzer_sys::fuzz_target;
use std::io::{Cursor, Read};

/// Images expanded in full up to this size (the fuzzer's time is bounded).
const EXPAND: u64 = 1 << 22;

fuzz_target!(|data: &[u8]| {
    let len = data.len() as u64;
    let walked = layout(Cursor::new(data));
    if let Ok(l) = &walked {
        let bs = u64::from(l.header.block_size);
        let mut next = 0u64;
        for c in &l.chunks {
            assert_eq!(u64::from(c.first_block), next, "{c:?} does not follow");
            next += u64::from(c.blocks);
            if c.kind == ChunkKind::Raw {
                assert!(c.data_offset + u64::from(c.blocks) * bs <= len, "{c:?} past the end");
            }
        }
        assert_eq!(next, u64::from(l.header.total_blocks));
    }
    let Ok(mut r) = SparseReader::new(Cursor::new(data)) else {
        assert!(walked.is_err(), "the reader refused a header the walk took");
        return;
    };
    let size = r.header().image_size();
    if size > EXPAND {
        return;
    }
    let mut out = Vec::new();
    match (r.read_to_end(&mut out), &walked) {
        (Ok(_), Ok(_)) => assert_eq!(out.len() as u64, size),
        (Ok(_), Err(e)) => panic!("the reader took a file the walk refused: {e}"),
        (Err(e), Ok(_)) => assert!(
            e.get_ref()
                .and_then(|i| i.downcast_ref::<SparseError>())
                .is_some_and(|s| matches!(s, SparseError::Crc32Mismatch { .. })),
            "the reader refused a file the walk took: {e}"
        ),
        (Err(_), Err(_)) => {}
    }
});
