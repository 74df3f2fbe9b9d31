//! A write-back page cache in front of a [`BlockAt`] device. fatfs formats a
//! volume one sector at a time, and the FAT writer writes a volume of many
//! small files one small piece at a time: formatting a 16 MiB volume and
//! copying one 4 MiB file into it took about 58,000 syscalls through fatfs,
//! most of a small run's fixed cost. Through this cache the same volume
//! reaches the file in a few large writes. At most [`LIMIT_PAGES`] pages are held; past
//! that the cache is written out and emptied, so memory stays bounded however
//! large the volume.

use super::BlockAt;
use std::collections::BTreeMap;
use std::io::{self, Read, Seek, SeekFrom, Write};

const PAGE: u64 = 4096;
/// Pages held before the cache is written out and emptied (64 MiB).
pub const LIMIT_PAGES: usize = 16 * 1024;
/// The longest single write when the cache is written out.
const RUN: usize = 1 << 20;

struct Page {
    bytes: Box<[u8; PAGE as usize]>,
    dirty: bool,
}

/// A cached view of `inner`'s first `len` bytes.
pub struct WriteBack<'a, D: BlockAt> {
    inner: &'a mut D,
    len: u64,
    pos: u64,
    pages: BTreeMap<u64, Page>,
}

impl<'a, D: BlockAt> WriteBack<'a, D> {
    /// A cache over the first `len` bytes of `inner`.
    pub fn new(inner: &'a mut D, len: u64) -> Self {
        WriteBack {
            inner,
            len,
            pos: 0,
            pages: BTreeMap::new(),
        }
    }

    fn page_len(&self, idx: u64) -> usize {
        PAGE.min(self.len - idx * PAGE) as usize
    }

    /// The cached page `idx`, read from the device on a miss.
    fn page(&mut self, idx: u64) -> io::Result<&mut Page> {
        if !self.pages.contains_key(&idx) {
            if self.pages.len() >= LIMIT_PAGES {
                self.write_out()?;
                self.pages.clear();
            }
            let mut bytes = Box::new([0u8; PAGE as usize]);
            let n = self.page_len(idx);
            self.inner.read_exact_at(&mut bytes[..n], idx * PAGE)?;
            self.pages.insert(
                idx,
                Page {
                    bytes,
                    dirty: false,
                },
            );
        }
        self.pages
            .get_mut(&idx)
            .ok_or_else(|| io::Error::other("a page left the cache"))
    }

    fn check(&self, offset: u64, n: usize) -> io::Result<()> {
        if offset + n as u64 > self.len {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("access at {offset}+{n} past the end of {} bytes", self.len),
            ));
        }
        Ok(())
    }

    /// Writes every dirty page to the device, adjacent pages in one write,
    /// and keeps them cached as clean.
    pub fn write_out(&mut self) -> io::Result<()> {
        let mut run: Vec<u8> = Vec::new();
        let mut run_at = 0u64;
        for (&idx, page) in self.pages.iter_mut().filter(|(_, p)| p.dirty) {
            let at = idx * PAGE;
            if !run.is_empty() && (run_at + run.len() as u64 != at || run.len() >= RUN) {
                self.inner.write_all_at(&run, run_at)?;
                run.clear();
            }
            if run.is_empty() {
                run_at = at;
            }
            let n = PAGE.min(self.len - at) as usize;
            run.extend_from_slice(&page.bytes[..n]);
            page.dirty = false;
        }
        if !run.is_empty() {
            self.inner.write_all_at(&run, run_at)?;
        }
        Ok(())
    }
}

/// `len` bytes at `offset` cut at page boundaries: for each piece its page,
/// its offset in the page, its offset in the buffer and its length.
fn pieces(offset: u64, len: usize) -> impl Iterator<Item = (u64, usize, usize, usize)> {
    let mut done = 0usize;
    std::iter::from_fn(move || {
        (done < len).then(|| {
            let p = offset + done as u64;
            let (idx, off) = (p / PAGE, (p % PAGE) as usize);
            let take = (PAGE as usize - off).min(len - done);
            done += take;
            (idx, off, done - take, take)
        })
    })
}

impl<D: BlockAt> BlockAt for WriteBack<'_, D> {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.check(offset, buf.len())?;
        for (idx, off, done, take) in pieces(offset, buf.len()) {
            let dst = &mut buf[done..done + take];
            match self.pages.get(&idx) {
                Some(page) => dst.copy_from_slice(&page.bytes[off..off + take]),
                None => self.inner.read_exact_at(dst, idx * PAGE + off as u64)?,
            }
        }
        Ok(())
    }

    fn write_all_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.check(offset, buf.len())?;
        for (idx, off, done, take) in pieces(offset, buf.len()) {
            let page = self.page(idx)?;
            page.bytes[off..off + take].copy_from_slice(&buf[done..done + take]);
            page.dirty = true;
        }
        Ok(())
    }
}

impl<D: BlockAt> Read for WriteBack<'_, D> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (self.len.saturating_sub(self.pos)).min(buf.len() as u64) as usize;
        for (idx, off, done, take) in pieces(self.pos, n) {
            let page = self.page(idx)?;
            buf[done..done + take].copy_from_slice(&page.bytes[off..off + take]);
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl<D: BlockAt> Write for WriteBack<'_, D> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = (self.len.saturating_sub(self.pos)).min(buf.len() as u64) as usize;
        if n == 0 && !buf.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "write past the end of the device",
            ));
        }
        self.write_all_at(&buf[..n], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_out()
    }
}

impl<D: BlockAt> Seek for WriteBack<'_, D> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.pos = super::seek_target(pos, self.pos, self.len)?;
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patch::PatchDevice;

    /// A device that counts its writes.
    struct Counting(PatchDevice, usize);

    impl BlockAt for Counting {
        fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
            self.0.read_exact_at(buf, offset)
        }
        fn write_all_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
            self.1 += 1;
            self.0.write_all_at(buf, offset)
        }
    }

    #[test]
    fn small_writes_reach_the_device_as_a_few_large_ones() {
        let len = 3 * PAGE * 100 + 512;
        let mut dev = Counting(PatchDevice::new(len), 0);
        let mut want = vec![0u8; len as usize];
        {
            let mut c = WriteBack::new(&mut dev, len);
            for i in 0..(len / 7) {
                let at = i * 7;
                c.seek(SeekFrom::Start(at)).expect("seek");
                c.write_all(&[(i % 251) as u8 + 1]).expect("write");
                want[at as usize] = (i % 251) as u8 + 1;
            }
            let mut back = vec![0u8; 100];
            c.read_exact_at(&mut back, 7000).expect("read");
            assert_eq!(back, want[7000..7100]);
            c.flush().expect("flush");
            c.write_all_at(&[9; 3], len - 3).expect("write at the end");
            want[len as usize - 3..].fill(9);
            assert!(c.write_all_at(&[1], len).is_err());
            c.flush().expect("flush");
        }
        assert!(dev.1 <= 4, "{} writes", dev.1);
        let mut got = vec![0u8; len as usize];
        dev.0.read_exact_at(&mut got, 0).expect("read back");
        assert_eq!(got, want);
    }

    #[test]
    fn a_full_cache_is_written_out_and_emptied() {
        let len = (LIMIT_PAGES as u64 + 8) * PAGE;
        let mut dev = Counting(PatchDevice::new(len), 0);
        {
            let mut c = WriteBack::new(&mut dev, len);
            for idx in 0..(LIMIT_PAGES as u64 + 8) {
                c.write_all_at(&[1], idx * PAGE).expect("write");
            }
            assert!(c.pages.len() <= LIMIT_PAGES);
            c.flush().expect("flush");
        }
        let mut b = [0u8; 1];
        for idx in [0, LIMIT_PAGES as u64 + 7] {
            dev.0.read_exact_at(&mut b, idx * PAGE).expect("read");
            assert_eq!(b, [1]);
        }
    }
}
