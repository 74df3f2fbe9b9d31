//! Streamed compression of finished images (zstd, xz, gzip) and the matching
//! decompressing readers for `flash`. Levels are pinned and every encoder is
//! single-threaded with no timestamps or file names in its headers, so two
//! builds of the same inputs give identical compressed bytes.

use crate::recipe::output_spec::Compression;
use burnline_io::hash::{DigestKind, StreamHash};
use std::fs::File;
use std::io::{self, BufReader, Read, Write};

/// zstd level (pinned for reproducible artifacts).
pub const ZSTD_LEVEL: i32 = 9;
/// xz preset (pinned, single-threaded).
pub const XZ_PRESET: u32 = 6;
/// gzip level (pinned; header mtime 0, no name).
pub const GZIP_LEVEL: u32 = 6;

/// A writer that hashes and counts what passes through.
struct Hashing<W: Write> {
    inner: W,
    hash: StreamHash,
    len: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Compresses the first `len` bytes of `src` into `dst`, returning the
/// compressed size and its `kind` digest. `dst` is not synced here.
pub fn compress(
    src: &File,
    len: u64,
    dst: &File,
    how: Compression,
    kind: DigestKind,
) -> io::Result<(u64, [u8; 32])> {
    let mut input = BufReader::with_capacity(1 << 20, src.take(len));
    let out = Hashing {
        inner: io::BufWriter::with_capacity(1 << 20, dst),
        hash: StreamHash::new(kind),
        len: 0,
    };
    let mut out = match how {
        Compression::Zstd => {
            let mut enc = zstd::stream::write::Encoder::new(out, ZSTD_LEVEL)?;
            enc.include_checksum(true)?;
            enc.set_pledged_src_size(Some(len))?;
            io::copy(&mut input, &mut enc)?;
            enc.finish()?
        }
        Compression::Xz => {
            let mut enc = xz2::write::XzEncoder::new(out, XZ_PRESET);
            io::copy(&mut input, &mut enc)?;
            enc.finish()?
        }
        Compression::Gzip => {
            let mut enc = flate2::GzBuilder::new()
                .mtime(0)
                .operating_system(255)
                .write(out, flate2::Compression::new(GZIP_LEVEL));
            io::copy(&mut input, &mut enc)?;
            enc.finish()?
        }
    };
    out.flush()?;
    Ok((out.len, out.hash.finalize()))
}

/// A reader giving the decompressed bytes of `input`.
pub fn decompressor<'a, R: Read + 'a>(
    input: R,
    how: Compression,
) -> io::Result<Box<dyn Read + 'a>> {
    let input = BufReader::with_capacity(1 << 20, input);
    Ok(match how {
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(input)?),
        Compression::Xz => Box::new(xz2::bufread::XzDecoder::new_multi_decoder(input)),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(input)),
    })
}
