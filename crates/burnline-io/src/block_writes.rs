//! Writes a device's patches over its copy of the base as whole 4 KiB blocks,
//! nearby patches merged into one write. A write that covers only part of a
//! block makes the kernel read the rest of it first (on a fresh reflinked
//! copy, a synchronous read per patch) and each separate write is one more
//! extent for the file system to allocate; whole, merged blocks avoid both.
//! The bytes between patches come from the base, so the image is the same.

use super::patch::{overlay, Patch};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use zeroize::Zeroizing;

/// The page size, and the block size of every common file system.
const BLOCK: u64 = 4096;
/// Patches at most this far apart go into one write.
const GAP: u64 = 4 * BLOCK;

/// Writes `patches` (sorted by offset, not overlapping) into `out`, a copy
/// of the first `len` bytes of `base`.
pub fn write_patches(base: &File, len: u64, out: &File, patches: &[Patch]) -> io::Result<()> {
    let end_of = |p: &Patch| (p.offset + p.bytes.len() as u64).div_ceil(BLOCK) * BLOCK;
    let mut i = 0;
    while i < patches.len() {
        let start = patches[i].offset / BLOCK * BLOCK;
        let mut end = end_of(&patches[i]);
        let mut j = i + 1;
        while j < patches.len() && patches[j].offset / BLOCK * BLOCK <= end + GAP {
            end = end.max(end_of(&patches[j]));
            j += 1;
        }
        let end = end.min(len);
        let mut buf = Zeroizing::new(vec![0u8; (end - start) as usize]);
        base.read_exact_at(&mut buf, start)?;
        overlay(&patches[i..j], start, &mut buf);
        out.write_all_at(&buf, start)?;
        i = j;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(offset: u64, bytes: &[u8]) -> Patch {
        Patch {
            offset,
            bytes: Zeroizing::new(bytes.to_vec()),
        }
    }

    #[test]
    fn gives_the_same_bytes_as_writing_each_patch() {
        let dir = tempfile::tempdir().expect("tempdir");
        let len = 1 << 20;
        let base_bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(dir.path().join("base"), &base_bytes).expect("base");
        let base = File::open(dir.path().join("base")).expect("open");
        let patches = [
            patch(0, &[1; 3]),
            patch(510, &[2; 600]),
            patch(20_000, &[3; 5]),
            patch(100_000, &[4; 9000]),
            patch(len - 2, &[5; 2]),
        ];
        let mut want = base_bytes.clone();
        for p in &patches {
            want[p.offset as usize..p.offset as usize + p.bytes.len()].copy_from_slice(&p.bytes);
        }
        let out_path = dir.path().join("out");
        std::fs::write(&out_path, &base_bytes).expect("copy");
        let out = std::fs::OpenOptions::new()
            .write(true)
            .open(&out_path)
            .expect("open out");
        write_patches(&base, len, &out, &patches).expect("write");
        assert_eq!(std::fs::read(&out_path).expect("read"), want);
    }
}
