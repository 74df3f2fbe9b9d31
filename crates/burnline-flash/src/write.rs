//! Writing one image (or a base plus a device's patches) to one target.
//!
//! 1. The partition-table regions (the image's first and last MiB, and the
//!    card's last MiB) are zeroed and synced first: from here on, until the
//!    last step, the card cannot boot an old or a half-new system.
//! 2. Where a map is known only the mapped ranges (and the patches) are
//!    written, holes are skipped, and each chunk's writeback starts at once.
//!    A delta the plan checked through the base's tree ([`Checked`]) reads
//!    only those ranges, and the base's bytes among them must hash as the
//!    plan saw them. Anything else is streamed once, whole: the map's
//!    checksums, the base's SHA-256 and the result's digest (SHA-256, or
//!    BLAKE3 when a delta records that) are checked on the way.
//! 3. Synced, then the table regions are written from memory, last, and synced.
//! 4. [`verify`] reads every written byte back: on the checked path with a
//!    BLAKE3 result, through the base's tree, so the card's bytes must give
//!    the image's recorded BLAKE3; otherwise their BLAKE3 is compared with
//!    that of the bytes written.
//!
//! A failure after step 1 says the target is left half-written.

use super::source::Source;
use super::target::Target;
use burnline_image::error::{Error, IoContext, Result};
use burnline_io::hash::{DigestKind, StreamHash};
use burnline_io::patch::{overlay, Patch};
use burnline_io::tree_digest::BaseTree;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

const CHUNK: u64 = 1 << 20;
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
    /// Set when the plan has checked the result's BLAKE3 through the base's
    /// tree: then only the ranges to write are read from the base.
    pub checked: Option<Checked>,
}

/// What the plan checked a delta against, once for every target.
#[derive(Debug, Clone)]
pub struct Checked {
    /// BLAKE3 of the base's mapped bytes, unpatched, in order.
    pub base_data: [u8; 32],
    /// The result's digest (of [`Expect::image_kind`]), as the tree (or
    /// the base's hash with the patches) gave it.
    pub image_digest: [u8; 32],
    /// The base's BLAKE3 tree, which a BLAKE3 result's read-back goes
    /// through.
    pub tree: Arc<BaseTree>,
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
    /// BLAKE3 of the image's bytes over `ranges`, in order.
    pub written_blake3: [u8; 32],
    /// The digest of the whole resulting image, of [`Expect::image_kind`].
    pub image_digest: [u8; 32],
    /// Bytes not written because the map says they are holes.
    pub skipped: u64,
    /// With a BLAKE3 result checked through the base's tree: that tree,
    /// and the read-back must give `image_digest` through it.
    pub tree: Option<Arc<BaseTree>>,
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

fn merge(mut spans: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    spans.retain(|s| s.1 > 0);
    spans.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::new();
    for (s, l) in spans {
        match out.last_mut() {
            Some(last) if s <= last.0 + last.1 => last.1 = last.1.max(s + l - last.0),
            _ => out.push((s, l)),
        }
    }
    out
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
    written_h: blake3::Hasher,
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
            written_h: blake3::Hasher::new(),
            done: 0,
            total,
            progress,
            gate,
        }
    }

    /// Takes the image's final bytes `bytes` at `a` (a written range's).
    fn put(&mut self, a: u64, bytes: &[u8]) -> Result<()> {
        let b = a + bytes.len() as u64;
        self.written_h.update(bytes);
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
                self.t
                    .file
                    .write_all_at(part, rs)
                    .with_context(|| format!("writing {} at byte {rs}", self.t.path.display()))?;
                // Starts the writeback of these pages now (best effort:
                // the final sync makes them durable either way).
                let _ = rustix::fs::fadvise(
                    &self.t.file,
                    rs,
                    std::num::NonZeroU64::new(re - rs),
                    rustix::fs::Advice::DontNeed,
                );
            }
        }
        self.done += bytes.len() as u64;
        (self.progress)(self.done, self.total);
        Ok(())
    }

    /// Syncs, writes the held table regions (tail, then head) and syncs.
    fn finish(
        self,
        ranges: &[(u64, u64)],
        image_digest: [u8; 32],
        skipped: u64,
        tree: Option<Arc<BaseTree>>,
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
            written_blake3: *self.written_h.finalize().as_bytes(),
            image_digest,
            skipped,
            tree,
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
    let mut buf = vec![0u8; CHUNK as usize];
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
            sink.put(a, &chunk[(a - pos) as usize..(b - pos) as usize])?;
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
    sink.finish(ranges, image_digest, size - covered, None)
}

/// The ranged path (a raw base whose delta the plan checked through the
/// base's BLAKE3 tree): only the ranges to write are read, and the base's
/// mapped bytes read here must hash to what the plan checked, so the card
/// gets exactly the image the delta records.
fn stream_ranges(
    src: &Source,
    expect: &Expect,
    checked: &Checked,
    ranges: &[(u64, u64)],
    mut sink: Sink<'_>,
) -> Result<Written> {
    // A test changes the base here, after the plan hashed it.
    fail::fail_point!("flash-before-ranges");
    let file = std::fs::File::open(&src.path).at("opening", &src.path)?;
    let no_map = Vec::new();
    let map = src.map.as_ref().unwrap_or(&no_map);
    let mut mi = 0usize;
    let mut data_h = blake3::Hasher::new();
    let mut buf = vec![0u8; CHUNK as usize];
    let mut covered = 0u64;
    for &(s, l) in ranges {
        let mut pos = s;
        while pos < s + l {
            let n = (s + l - pos).min(CHUNK) as usize;
            let end = pos + n as u64;
            let chunk = &mut buf[..n];
            file.read_exact_at(chunk, pos)
                .with_context(|| format!("reading {} at byte {pos}", src.path.display()))?;
            // The mapped bytes, in order (the map lies inside the ranges).
            while mi < map.len() && map[mi].0 < end {
                let (ms, ml) = (map[mi].0, map[mi].1);
                let (a, b) = (ms.max(pos), (ms + ml).min(end));
                if a < b {
                    data_h.update(&chunk[(a - pos) as usize..(b - pos) as usize]);
                }
                if ms + ml > end {
                    break;
                }
                mi += 1;
            }
            overlay(&expect.patches, pos, chunk);
            sink.put(pos, chunk)?;
            covered += n as u64;
            pos = end;
        }
    }
    if *data_h.finalize().as_bytes() != checked.base_data {
        return Err(Error::Usage(format!(
            "{}: changed while it was being written (its data differs from what was checked)",
            src.path.display()
        )));
    }
    let tree = (expect.image_kind() == DigestKind::Blake3).then(|| Arc::clone(&checked.tree));
    sink.finish(ranges, checked.image_digest, src.size - covered, tree)
}

/// Reads every written range back and compares BLAKE3: through the base's
/// tree (the image's digest) when the write went through it, else with
/// the bytes written.
pub fn verify(t: &Target, w: &Written) -> Result<()> {
    verify_with(t, w, &|_, _| {})
}

/// [`verify`], telling `progress` how many of the bytes to read are done.
pub fn verify_with(t: &Target, w: &Written, progress: Progress<'_>) -> Result<()> {
    let total: u64 = w.ranges.iter().map(|r| r.1).sum();
    let mut done = 0u64;
    // A test changes a byte of the card here, after it was written.
    fail::fail_point!("flash-before-verify");
    // Drop the cached pages, so the bytes come from the card (best effort).
    let _ = rustix::fs::fadvise(&t.file, 0, None, rustix::fs::Advice::DontNeed);
    let (got, want) = match &w.tree {
        // Through the base's tree: the leaves the write touched, filled
        // from the card (zeros where nothing was written), and the image's
        // BLAKE3 must come out.
        Some(tree) => {
            let touched = tree.leaves_of(w.ranges.iter().copied());
            let mut fill = |start: u64, buf: &mut [u8]| -> std::io::Result<()> {
                buf.fill(0);
                let end = start + buf.len() as u64;
                let first = w.ranges.partition_point(|&(s, l)| s + l <= start);
                for &(s, l) in w.ranges[first..].iter().take_while(|r| r.0 < end) {
                    let (a, b) = (s.max(start), (s + l).min(end));
                    t.file
                        .read_exact_at(&mut buf[(a - start) as usize..(b - start) as usize], a)?;
                    done += b - a;
                    // Told once a chunk, as the plain read-back does.
                    if done / CHUNK != (done - (b - a)) / CHUNK || done == total {
                        progress(done, total);
                    }
                }
                Ok(())
            };
            let got = tree
                .digest_leaves(&touched, &mut fill)
                .at("reading back", &t.path)?;
            (got, w.image_digest)
        }
        None => {
            let mut h = blake3::Hasher::new();
            let mut buf = vec![0u8; CHUNK as usize];
            for &(s, l) in &w.ranges {
                let mut pos = s;
                while pos < s + l {
                    let n = (s + l - pos).min(CHUNK) as usize;
                    t.file
                        .read_exact_at(&mut buf[..n], pos)
                        .at("reading back", &t.path)?;
                    h.update(&buf[..n]);
                    pos += n as u64;
                    done += n as u64;
                    progress(done, total);
                }
            }
            (*h.finalize().as_bytes(), w.written_blake3)
        }
    };
    if got != want {
        return Err(Error::Io {
            context: format!(
                "target {}: read-back does not match what was written (blake3 differs)",
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

    /// On the checked path the read-back goes through the base's tree: a
    /// good card gives the image's BLAKE3 (that of the whole image, holes
    /// as zeros), and one byte changed under a written range, base data or
    /// patch, is caught.
    #[test]
    fn the_read_back_goes_through_the_base_tree() {
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
        assert!(w.tree.is_some(), "the checked path keeps the tree");
        verify(&t, &w).expect("a good card");
        for at in [3 * mib + 100, 5 * mib + 8] {
            let mut b = [0u8; 1];
            t.file.read_exact_at(&mut b, at).expect("read");
            t.file.write_all_at(&[b[0] ^ 1], at).expect("flip");
            let e = verify(&t, &w).expect_err("a changed byte");
            assert!(e.to_string().contains("read-back does not match"), "{e}");
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
