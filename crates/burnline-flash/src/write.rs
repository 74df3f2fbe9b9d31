//! Writing one image (or a base plus a device's patches) to one target.
//!
//! 1. The partition-table regions (the image's first and last MiB, and the
//!    card's last MiB) are zeroed and synced first: from here on, until the
//!    last step, the card cannot boot an old or a half-new system.
//! 2. Where a map is known only the mapped ranges (and the patches) are
//!    written, holes are skipped. A block device is written around the
//!    page cache ([`burnline_io::direct`]) in whole 4 KiB blocks (the
//!    ranges widened to them); anything else through the cache, each
//!    chunk's writeback started at once. A base the plan checked
//!    ([`Checked`]) is read from the file it checked, only over those
//!    ranges, and must still be as checked at the end; each chunk written
//!    is summed with XXH3-128 (tens of GB/s), or, where no patch touches
//!    it, has the sum the plan took of the base's chunk
//!    ([`super::chunk_sums`]); such a chunk goes to a card written around
//!    the page cache by `splice` ([`burnline_io::spliced`]), never copied
//!    through this process.
//!    Anything else is streamed once, whole: the map's checksums, the
//!    base's SHA-256 and the result's digest (SHA-256, or BLAKE3 when a
//!    delta records that) are checked on the way.
//! 3. Synced, then the table regions are written from memory, last, and synced.
//! 4. [`verify`] reads every written byte back from the card: on the
//!    checked path each chunk's XXH3-128 must be that of the chunk
//!    written; otherwise their BLAKE3 is compared with that of the bytes
//!    written.
//!
//! A failure after step 1 says the target is left half-written.

use super::chunk_sums::{chunks, merge, BaseSums, CHUNK};
use super::source::Source;
use super::target::Target;
use burnline_image::error::{Error, IoContext, Result};
use burnline_io::direct::{self, AlignedBuf};
use burnline_io::hash::{DigestKind, StreamHash};
use burnline_io::patch::{overlapping, overlay, Patch};
use burnline_io::pinned::Pinned;
use burnline_io::spliced::Splicer;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use xxhash_rust::xxh3::xxh3_128;

/// The partition-table region at each end of the image.
pub const TABLE_REGION: u64 = 1 << 20;

/// What a job expects besides the image itself.
#[derive(Debug, Default)]
pub struct Expect {
    /// Patches written over the image (a delta's records), sorted.
    pub patches: Vec<Patch>,
    /// SHA-256 the (unpatched) stream must have (a delta's base).
    pub base_sha256: Option<[u8; 32]>,
    /// The digest (of that kind) the result must have.
    pub image: Option<(DigestKind, [u8; 32])>,
    /// Set when the plan has checked the base once for every card: then
    /// only the ranges to write are read from it, and nothing is hashed.
    pub checked: Option<Checked>,
}

/// What the plan checked, once for every target.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The result's digest (of [`Expect::image_kind`]), as the base's tree
    /// (or the base's hash with the patches) gave it.
    pub image_digest: [u8; 32],
    /// The base, open and pinned since it was hashed: every card reads
    /// this file, and it must be unchanged when a card's write ends.
    pub base: Arc<Pinned>,
    /// The sums of the base's chunks, which a card's unpatched chunks
    /// have.
    pub sums: Arc<BaseSums>,
}

impl Expect {
    /// The kind the result is hashed with: the expected one, else SHA-256.
    pub fn image_kind(&self) -> DigestKind {
        self.image.map_or(DigestKind::Sha256, |(k, _)| k)
    }
}

/// What was written, for [`verify`].
#[derive(Debug)]
pub struct Written {
    /// Written byte ranges (start, length), sorted and merged.
    pub ranges: Vec<(u64, u64)>,
    /// The digest of the whole resulting image, of [`Expect::image_kind`].
    pub image_digest: [u8; 32],
    /// Bytes not written because the map says they are holes.
    pub skipped: u64,
    /// What the read-back must find.
    read_back: ReadBack,
}

/// What [`verify`] compares a card's bytes with.
#[derive(Debug)]
enum ReadBack {
    /// The XXH3-128 of each chunk written on the checked path, in the
    /// order of [`chunks`].
    Chunks(Vec<u128>),
    /// The BLAKE3 of the bytes written over the ranges, in order.
    Blake3([u8; 32]),
}

/// The refusal of a base that changed after it was checked.
fn base_changed(path: &std::path::Path) -> Error {
    Error::Usage(format!(
        "{}: changed while it was being written (it was modified after it was checked)",
        path.display()
    ))
}

/// Reads `buf.len()` bytes of the card at `at`: around the page cache
/// where the target has a direct descriptor and the piece is aligned
/// (`direct_ok` turned off for good if the kernel refuses one), else
/// through the cache.
fn read_card(t: &Target, buf: &mut [u8], at: u64, direct_ok: &mut bool) -> std::io::Result<()> {
    if let Some(d) = t.direct.as_ref().filter(|_| *direct_ok) {
        if direct::aligned(at, buf) {
            match d.read_exact_at(buf, at) {
                Err(e) if direct::refused(&e) => *direct_ok = false,
                done => return done,
            }
        }
    }
    t.file.read_exact_at(buf, at)
}

fn half_written(t: &Target, why: impl std::fmt::Display) -> Error {
    Error::Io {
        context: format!(
            "target {} is left half-written (its partition table is not written, so it cannot boot)",
            t.path.display()
        ),
        source: std::io::Error::other(why.to_string()),
    }
}

/// Told (bytes done, bytes in all) as a write or a read-back goes on.
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Sync);

/// Writes `src` with `expect` to `t`.
pub fn write(src: &Source, expect: &Expect, t: &Target) -> Result<Written> {
    write_with(src, expect, t, &|_, _| {})
}

/// Asked before every write to the target: an error stops the write
/// before its next byte (a pooled station whose claim on its name is lost).
pub type Gate<'a> = &'a (dyn Fn() -> Result<()> + Sync);

/// [`write`], telling `progress` how many of the bytes to write are done.
pub fn write_with(
    src: &Source,
    expect: &Expect,
    t: &Target,
    progress: Progress<'_>,
) -> Result<Written> {
    write_gated(src, expect, t, progress, &|| Ok(()))
}

/// [`write_with`], asking `gate` before each write to the target.
pub fn write_gated(
    src: &Source,
    expect: &Expect,
    t: &Target,
    progress: Progress<'_>,
    gate: Gate<'_>,
) -> Result<Written> {
    let size = src.size;
    let head = TABLE_REGION.min(size);
    let tail_start = head.max(size.saturating_sub(TABLE_REGION));
    let mut spans = vec![(0, head), (tail_start, size - tail_start)];
    spans.extend(
        expect
            .patches
            .iter()
            .map(|p| (p.offset, p.bytes.len() as u64)),
    );
    match &src.map {
        Some(map) => spans.extend(map.iter().map(|r| (r.0, r.1))),
        None => spans.push((0, size)),
    }
    if t.direct.is_some() {
        // Whole blocks, so a card written around the cache takes every
        // piece directly: the bytes added are the image's own (zeros
        // of a hole, or the base's bytes next to a patch).
        let a = direct::ALIGN as u64;
        for sp in &mut spans {
            let (s, e) = (sp.0 / a * a, (sp.0 + sp.1).div_ceil(a) * a);
            *sp = (s, e.min(size) - s);
        }
    }
    let ranges = merge(spans);
    // 1. Wipe the table regions.
    let zeros = vec![0u8; TABLE_REGION as usize];
    let mut wipe = vec![(0, head), (tail_start, size - tail_start)];
    if t.block && t.capacity > size {
        let s = t.capacity.saturating_sub(TABLE_REGION).max(size);
        wipe.push((s, t.capacity - s));
    }
    for (s, l) in wipe {
        gate()?;
        t.file
            .write_all_at(&zeros[..l as usize], s)
            .at("wiping the partition table of", &t.path)?;
    }
    t.file.sync_all().at("syncing", &t.path)?;
    stream(src, expect, t, &ranges, (head, tail_start), progress, gate)
        .map_err(|e| half_written(t, e))
}

/// Where a job's bytes go: the table regions are held in memory until the
/// rest is written and synced; everything else is written at once, and its
/// writeback started, so the card is busy from the first chunk instead of
/// when the kernel's dirty thresholds are reached.
struct Sink<'a> {
    t: &'a Target,
    head: u64,
    tail_start: u64,
    held_head: Vec<u8>,
    held_tail: Vec<u8>,
    /// Whether pieces still go to the target's direct descriptor.
    direct_ok: bool,
    /// The pipe the base's chunks are spliced through ([`Sink::splice`]),
    /// and whether the kernel still takes them.
    splicer: Option<Splicer>,
    splice_ok: bool,
    done: u64,
    total: u64,
    progress: Progress<'a>,
    gate: Gate<'a>,
}

impl<'a> Sink<'a> {
    fn new(
        t: &'a Target,
        size: u64,
        (head, tail_start): (u64, u64),
        total: u64,
        progress: Progress<'a>,
        gate: Gate<'a>,
    ) -> Self {
        Sink {
            t,
            head,
            tail_start,
            held_head: vec![0u8; head as usize],
            held_tail: vec![0u8; (size - tail_start) as usize],
            direct_ok: true,
            splicer: None,
            splice_ok: true,
            done: 0,
            total,
            progress,
            gate,
        }
    }

    /// Takes the image's final bytes `bytes` at `a` (a written range's).
    fn put(&mut self, a: u64, bytes: &[u8]) -> Result<()> {
        let b = a + bytes.len() as u64;
        let (head, tail_start) = (self.head, self.tail_start);
        for (rs, re) in [
            (a, b.min(head)),
            (a.max(head), b.min(tail_start)),
            (a.max(tail_start), b),
        ] {
            if rs >= re {
                continue;
            }
            let part = &bytes[(rs - a) as usize..(re - a) as usize];
            if re <= head {
                self.held_head[rs as usize..re as usize].copy_from_slice(part);
            } else if rs >= tail_start {
                self.held_tail[(rs - tail_start) as usize..(re - tail_start) as usize]
                    .copy_from_slice(part);
            } else {
                (self.gate)()?;
                self.write_out(part, rs)?;
            }
        }
        self.done += bytes.len() as u64;
        (self.progress)(self.done, self.total);
        Ok(())
    }

    /// Moves `n` bytes of `base` at `at` to the same place on the card
    /// without copying them through user space: a chunk of the base that
    /// no patch touches, outside the held table regions, whole blocks,
    /// onto a card written around the page cache. `Ok(false)` when it
    /// cannot (the caller reads and [`Sink::put`]s the chunk instead); a
    /// kernel that refuses a splice turns it off for the rest of the card.
    fn splice(&mut self, base: &File, at: u64, n: u64) -> Result<bool> {
        let a = direct::ALIGN as u64;
        let fits = at >= self.head && at + n <= self.tail_start && at % a == 0 && n % a == 0;
        let t = self.t;
        let Some(d) = t.direct.as_ref().filter(|_| self.direct_ok && fits) else {
            return Ok(false);
        };
        if self.splicer.is_none() && self.splice_ok {
            // No pipe (out of descriptors): this card is written by copies.
            self.splicer = Splicer::new().ok();
            self.splice_ok = self.splicer.is_some();
        }
        let Some(s) = self.splicer.as_mut() else {
            return Ok(false);
        };
        (self.gate)()?;
        match s.copy(base, at, d, at, n) {
            Ok(()) => {
                self.done += n;
                (self.progress)(self.done, self.total);
                Ok(true)
            }
            Err(e) if direct::refused(&e) => {
                // The pipe may hold part of the chunk: dropped with it.
                self.splicer = None;
                self.splice_ok = false;
                Ok(false)
            }
            Err(e) => Err(e).with_context(|| {
                format!(
                    "writing {} at byte {at} (spliced from the base)",
                    t.path.display()
                )
            }),
        }
    }

    /// Writes `part` at `at`: around the page cache where it can, else
    /// through it, its writeback started at once.
    fn write_out(&mut self, part: &[u8], at: u64) -> Result<()> {
        let t = self.t;
        let context = || format!("writing {} at byte {at}", t.path.display());
        if let Some(d) = t.direct.as_ref().filter(|_| self.direct_ok) {
            if direct::aligned(at, part) {
                match d.write_all_at(part, at) {
                    Ok(()) => return Ok(()),
                    Err(e) if direct::refused(&e) => self.direct_ok = false,
                    Err(e) => return Err(e).with_context(context),
                }
            }
        }
        t.file.write_all_at(part, at).with_context(context)?;
        // Starts the writeback of these pages now (best effort: the final
        // sync makes them durable either way).
        let _ = rustix::fs::fadvise(
            &t.file,
            at,
            std::num::NonZeroU64::new(part.len() as u64),
            rustix::fs::Advice::DontNeed,
        );
        Ok(())
    }

    /// Syncs, writes the held table regions (tail, then head) and syncs;
    /// [`verify`] will compare the card with `read_back`.
    fn finish(
        self,
        ranges: &[(u64, u64)],
        image_digest: [u8; 32],
        skipped: u64,
        read_back: ReadBack,
    ) -> Result<Written> {
        let t = self.t;
        t.file.sync_all().at("syncing", &t.path)?;
        (self.gate)()?;
        t.file
            .write_all_at(&self.held_tail, self.tail_start)
            .at("writing the partition table of", &t.path)?;
        (self.gate)()?;
        t.file
            .write_all_at(&self.held_head, 0)
            .at("writing the partition table of", &t.path)?;
        t.file.sync_all().at("syncing", &t.path)?;
        Ok(Written {
            ranges: ranges.to_vec(),
            image_digest,
            skipped,
            read_back,
        })
    }
}

fn stream(
    src: &Source,
    expect: &Expect,
    t: &Target,
    ranges: &[(u64, u64)],
    table: (u64, u64),
    progress: Progress<'_>,
    gate: Gate<'_>,
) -> Result<Written> {
    let total: u64 = ranges.iter().map(|r| r.1).sum();
    let mut sink = Sink::new(t, src.size, table, total, progress, gate);
    if let Some(checked) = &expect.checked {
        return stream_ranges(src, expect, checked, ranges, sink);
    }
    let size = src.size;
    let mut reader = src.reader()?;
    let kind = expect.image_kind();
    let mut base_h = Sha256::new();
    let mut image_h = StreamHash::new(kind);
    let no_map = Vec::new();
    let map = src.map.as_ref().unwrap_or(&no_map);
    let mut mi = 0usize;
    let mut map_h = Sha256::new();
    // What the read-back of this path compares with.
    let mut written_h = blake3::Hasher::new();
    let mut buf = AlignedBuf::new(CHUNK as usize);
    let mut pos = 0u64;
    let mut covered = 0u64;
    while pos < size {
        let n = (size - pos).min(CHUNK) as usize;
        let chunk = &mut buf[..n];
        reader
            .read_exact(chunk)
            .with_context(|| format!("reading {} at byte {pos}", src.path.display()))?;
        base_h.update(&*chunk);
        let end = pos + n as u64;
        // The bmap's range checksums, over the unpatched image.
        while mi < map.len() && map[mi].0 < end {
            let (s, l, sum) = &map[mi];
            let (a, b) = ((*s).max(pos), (s + l).min(end));
            if a < b {
                map_h.update(&chunk[(a - pos) as usize..(b - pos) as usize]);
            }
            if s + l > end {
                break;
            }
            let got = hex::encode(std::mem::take(&mut map_h).finalize());
            if let Some(want) = sum {
                if &got != want {
                    return Err(Error::Usage(format!(
                        "{}: bytes {s}..{} do not match the bmap's checksum (wrong bmap, or a corrupted image)",
                        src.path.display(),
                        s + l
                    )));
                }
            }
            mi += 1;
        }
        overlay(&expect.patches, pos, chunk);
        image_h.update(&*chunk);
        for &(s, l) in ranges.iter().filter(|r| r.0 < end && r.0 + r.1 > pos) {
            let (a, b) = (s.max(pos), (s + l).min(end));
            let piece = &chunk[(a - pos) as usize..(b - pos) as usize];
            written_h.update(piece);
            sink.put(a, piece)?;
            covered += b - a;
        }
        pos = end;
    }
    if mi < map.len() {
        return Err(Error::Usage(format!(
            "{}: the bmap maps blocks past the image end",
            src.path.display()
        )));
    }
    let base_sha: [u8; 32] = base_h.finalize().into();
    if expect.base_sha256.is_some_and(|w| w != base_sha) {
        return Err(Error::Usage(format!(
            "{}: is not the base this delta was made for (sha256 differs)",
            src.path.display()
        )));
    }
    let image_digest = image_h.finalize();
    if expect.image.is_some_and(|(_, w)| w != image_digest) {
        return Err(Error::Usage(format!(
            "the image written does not have the {} the delta records",
            kind.name()
        )));
    }
    let read_back = ReadBack::Blake3(*written_h.finalize().as_bytes());
    sink.finish(ranges, image_digest, size - covered, read_back)
}

/// The ranged path (a base the plan checked): only the ranges to write
/// are read, from the file the plan hashed, and nothing is hashed again;
/// the base must still be as checked before the table is written.
fn stream_ranges(
    src: &Source,
    expect: &Expect,
    checked: &Checked,
    ranges: &[(u64, u64)],
    mut sink: Sink<'_>,
) -> Result<Written> {
    // A test changes the base here, after the plan hashed it.
    fail::fail_point!("flash-before-ranges");
    let file = checked.base.file();
    let mut buf = AlignedBuf::new(CHUNK as usize);
    let mut sums = Vec::new();
    let mut covered = 0u64;
    for (pos, n) in chunks(ranges) {
        covered += n;
        // A chunk no patch touches is one of the base's, already summed,
        // and goes to the card without passing through here if it can.
        let known = overlapping(&expect.patches, pos, n)
            .is_empty()
            .then(|| checked.sums.get(pos, n))
            .flatten();
        if let Some(sum) = known {
            if sink.splice(file, pos, n)? {
                sums.push(sum);
                continue;
            }
        }
        let chunk = &mut buf[..n as usize];
        file.read_exact_at(chunk, pos)
            .with_context(|| format!("reading {} at byte {pos}", src.path.display()))?;
        overlay(&expect.patches, pos, chunk);
        sums.push(known.unwrap_or_else(|| xxh3_128(chunk)));
        sink.put(pos, chunk)?;
    }
    if !checked.base.unchanged().at("reading", &src.path)? {
        return Err(base_changed(&src.path));
    }
    let read_back = ReadBack::Chunks(sums);
    sink.finish(ranges, checked.image_digest, src.size - covered, read_back)
}

/// Reads every written range back from the card: each chunk's XXH3-128
/// compared with that of the chunk written when the write came from a
/// checked base, else the BLAKE3 of them all with that of the bytes
/// written.
pub fn verify(t: &Target, w: &Written) -> Result<()> {
    verify_with(t, w, &|_, _| {})
}

/// [`verify`], telling `progress` how many of the bytes to read are done.
pub fn verify_with(t: &Target, w: &Written, progress: Progress<'_>) -> Result<()> {
    let total: u64 = w.ranges.iter().map(|r| r.1).sum();
    let mut done = 0u64;
    // A test changes a byte of the card here, after it was written.
    fail::fail_point!("flash-before-verify");
    // Drop the cached pages, so the bytes read through the cache come
    // from the card too (best effort).
    let _ = rustix::fs::fadvise(&t.file, 0, None, rustix::fs::Advice::DontNeed);
    let mut direct_ok = true;
    let mut card = AlignedBuf::new(CHUNK as usize);
    let mut h = blake3::Hasher::new();
    let mut chunk_no = 0usize;
    let mut first_bad = None;
    for (pos, n) in chunks(&w.ranges) {
        let got = &mut card[..n as usize];
        read_card(t, got, pos, &mut direct_ok).at("reading back", &t.path)?;
        match &w.read_back {
            ReadBack::Chunks(sums) => {
                if first_bad.is_none() && sums.get(chunk_no) != Some(&xxh3_128(got)) {
                    first_bad = Some((pos, pos + n));
                }
                chunk_no += 1;
            }
            ReadBack::Blake3(_) => {
                h.update(got);
            }
        }
        done += n;
        progress(done, total);
    }
    let bad = match &w.read_back {
        ReadBack::Chunks(_) => first_bad.map(|(a, b)| format!("bytes {a}..{b} differ")),
        ReadBack::Blake3(want) => {
            (h.finalize().as_bytes() != want).then(|| "blake3 differs".to_string())
        }
    };
    if let Some(why) = bad {
        return Err(Error::Io {
            context: format!(
                "target {}: read-back does not match what was written ({why})",
                t.path.display()
            ),
            source: std::io::Error::other("the card is bad or was pulled; do not use it"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// On the checked path the image's BLAKE3 is that of the whole image
    /// (holes as zeros), and the read-back compares each chunk of the card
    /// with the chunk written: one byte changed under a written range,
    /// base data or patch, is caught and its chunk named.
    #[test]
    fn the_read_back_compares_each_chunk_of_the_card_with_the_one_written() {
        let d = tempfile::tempdir().expect("tempdir");
        let mib = 1u64 << 20;
        let size = 8 * mib;
        let src_path = d.path().join("base.img");
        let f = std::fs::File::create(&src_path).expect("base");
        f.set_len(size).expect("size");
        f.write_all_at(&vec![0x11u8; 4096], 3 * mib).expect("data");
        let src = Source {
            path: src_path,
            compression: None,
            size,
            map: Some(vec![(3 * mib, 4096, None)]),
            sparse: false,
        };
        let base = super::super::checked_base::CheckedBase::new(&src).expect("check");
        let patches = vec![Patch {
            offset: 5 * mib + 7,
            bytes: zeroize::Zeroizing::new(b"gw-0001".to_vec()),
        }];
        let expect = base.expect(patches, DigestKind::Blake3).expect("expect");
        let tp = d.path().join("card.img");
        let t = super::super::target::open(&tp, size).expect("target");
        let w = write(&src, &expect, &t).expect("write");
        let mut image = vec![0u8; size as usize];
        image[3 * mib as usize..][..4096].fill(0x11);
        image[5 * mib as usize + 7..][..7].copy_from_slice(b"gw-0001");
        assert_eq!(w.image_digest, *blake3::hash(&image).as_bytes());
        assert!(matches!(w.read_back, ReadBack::Chunks(_)), "chunk by chunk");
        verify(&t, &w).expect("a good card");
        for at in [3 * mib + 100, 5 * mib + 8] {
            let mut b = [0u8; 1];
            t.file.read_exact_at(&mut b, at).expect("read");
            t.file.write_all_at(&[b[0] ^ 1], at).expect("flip");
            let e = verify(&t, &w).expect_err("a changed byte");
            // The chunk is the written range the byte lies in (each is
            // under a MiB here: the 3 MiB block, the patch's block, the
            // table regions).
            let range = w.ranges.iter().find(|r| r.0 <= at && at < r.0 + r.1);
            let (a, l) = *range.expect("a written byte");
            assert!(
                e.to_string().contains(&format!(
                    "read-back does not match what was written (bytes {a}..{} differ)",
                    a + l
                )),
                "{e}"
            );
            t.file.write_all_at(&b, at).expect("flip back");
        }
        verify(&t, &w).expect("the card put back");
    }

    /// A gate that says no stops the write before its next byte: the chunks
    /// written before it stay, nothing after them is written, and neither
    /// partition-table region (held to the end) is.
    #[test]
    fn a_closed_gate_stops_the_write_before_its_next_byte() {
        let d = tempfile::tempdir().expect("tempdir");
        let mib = 1usize << 20;
        let size = 6 * mib as u64;
        let src_path = d.path().join("src.img");
        std::fs::write(&src_path, vec![0xa5u8; 6 * mib]).expect("source");
        let src = Source {
            path: src_path,
            compression: None,
            size,
            map: None,
            sparse: false,
        };
        let tp = d.path().join("card.img");
        let t = super::super::target::open(&tp, size).expect("target");
        let expect = Expect {
            patches: Vec::new(),
            base_sha256: None,
            image: None,
            checked: None,
        };
        // Open for the two table wipes and two chunks, then closed.
        let calls = AtomicUsize::new(0);
        let gate = || {
            if calls.fetch_add(1, Ordering::SeqCst) < 4 {
                Ok(())
            } else {
                Err(Error::Usage("the claim is lost".into()))
            }
        };
        let e = write_gated(&src, &expect, &t, &|_, _| {}, &gate).expect_err("a closed gate");
        assert!(e.to_string().contains("the claim is lost"), "{e}");
        assert_eq!(calls.load(Ordering::SeqCst), 5);
        let got = std::fs::read(&tp).expect("read the card");
        assert!(got[..mib].iter().all(|&b| b == 0), "the head table region");
        assert!(
            got[mib..3 * mib].iter().all(|&b| b == 0xa5),
            "the chunks let through"
        );
        assert!(
            got[3 * mib..].iter().all(|&b| b == 0),
            "a byte after the gate closed"
        );
    }
}
