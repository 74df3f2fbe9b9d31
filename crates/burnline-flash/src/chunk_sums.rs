//! The chunks a card is written and read back in, and the XXH3-128 sums
//! of a checked base's chunks, taken once for every card.
//!
//! A card's ranges are cut at every multiple of [`CHUNK`] on the disk, not
//! from each range's start, so a chunk of a card that no patch touches is
//! byte for byte a chunk of the base: its sum is looked up in
//! [`BaseSums`] instead of computed again, and each card sums only its
//! patched chunks on the way out (and everything on the way back in).
//! Chunks that start at a multiple of a MiB are also aligned for a write
//! around the page cache.

use burnline_io::direct::AlignedBuf;
use rayon::prelude::*;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use xxhash_rust::xxh3::xxh3_128;

/// How many bytes are read, written and summed at a time, at most.
pub const CHUNK: u64 = 1 << 20;

/// `spans` (start, length) sorted, empty ones dropped, and those that
/// overlap or touch merged.
pub fn merge(mut spans: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
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

/// The chunks (start, length) of `ranges`, in order: each range cut at
/// every multiple of [`CHUNK`] on the disk.
pub fn chunks(ranges: &[(u64, u64)]) -> impl Iterator<Item = (u64, u64)> + '_ {
    ranges.iter().flat_map(|&(s, l)| {
        let end = s + l;
        std::iter::successors(Some(s).filter(|&p| p < end), move |&p| {
            Some((p / CHUNK + 1) * CHUNK).filter(|&q| q < end)
        })
        .map(move |p| (p, ((p / CHUNK + 1) * CHUNK).min(end) - p))
    })
}

/// The XXH3-128 of each chunk of a base's mapped ranges, by start.
#[derive(Debug, Default)]
pub struct BaseSums {
    /// (start, length, sum), sorted by start.
    sums: Vec<(u64, u64, u128)>,
}

impl BaseSums {
    /// Sums the chunks of `map` (the base's data ranges) in `file`, several
    /// chunks at once.
    pub fn build(file: &File, map: &[(u64, u64)]) -> io::Result<Self> {
        let ranges = merge(map.to_vec());
        let all: Vec<(u64, u64)> = chunks(&ranges).collect();
        let sums = all
            .par_chunks(64)
            .map_init(
                || AlignedBuf::new(CHUNK as usize),
                |buf, group| {
                    group
                        .iter()
                        .map(|&(s, l)| {
                            let bytes = &mut buf[..l as usize];
                            file.read_exact_at(bytes, s)?;
                            Ok((s, l, xxh3_128(bytes)))
                        })
                        .collect::<io::Result<Vec<_>>>()
                },
            )
            .collect::<io::Result<Vec<_>>>()?
            .concat();
        Ok(BaseSums { sums })
    }

    /// The sum of the base's bytes `start..start + len`, if that is one of
    /// its chunks.
    pub fn get(&self, start: u64, len: u64) -> Option<u128> {
        let i = self.sums.binary_search_by_key(&start, |c| c.0).ok()?;
        let (_, l, sum) = self.sums[i];
        (l == len).then_some(sum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ranges are cut at the disk's MiB boundaries, not from their starts,
    /// and every byte is in exactly one chunk.
    #[test]
    fn chunks_are_cut_at_the_disks_mib_boundaries() {
        let m = CHUNK;
        let got: Vec<_> = chunks(&[(0, 4096), (m - 512, m + 1024), (5 * m, 2 * m)]).collect();
        assert_eq!(
            got,
            vec![
                (0, 4096),
                (m - 512, 512),
                (m, m),
                (2 * m, 512),
                (5 * m, m),
                (6 * m, m),
            ]
        );
        assert_eq!(chunks(&[(7, 0)]).count(), 0);
    }

    /// A base's chunk sums are those of its bytes; a span that is not one
    /// of its chunks (longer, shorter, or elsewhere) has none.
    #[test]
    fn a_base_sum_is_given_only_for_one_of_its_chunks() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("base.img");
        let m = CHUNK as usize;
        let mut bytes = vec![0u8; 4 * m];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (i % 251) as u8;
        }
        std::fs::write(&p, &bytes).expect("base");
        let f = File::open(&p).expect("open");
        // Two adjacent map ranges are one range, cut at 2 MiB.
        let sums = BaseSums::build(
            &f,
            &[(m as u64 / 2, m as u64), (3 * m as u64 / 2, m as u64)],
        )
        .expect("sums");
        let half = m as u64 / 2;
        assert_eq!(
            sums.get(half, half),
            Some(xxh3_128(&bytes[m / 2..m])),
            "the first chunk"
        );
        assert_eq!(
            sums.get(CHUNK, CHUNK),
            Some(xxh3_128(&bytes[m..2 * m])),
            "the chunk across the two map ranges"
        );
        assert_eq!(
            sums.get(2 * CHUNK, half),
            Some(xxh3_128(&bytes[2 * m..5 * m / 2]))
        );
        assert_eq!(sums.get(half, CHUNK), None, "longer than the chunk");
        assert_eq!(sums.get(CHUNK, half), None, "shorter than the chunk");
        assert_eq!(sums.get(3 * CHUNK, CHUNK), None, "not mapped");
    }
}
