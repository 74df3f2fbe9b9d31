//! What `flash` writes: an image file, raw or compressed (`.zst`, `.xz`,
//! `.gz`, streamed), its size, and the bmap that says which blocks hold data
//! (`--bmap`, or `IMAGE.bmap` / the name without the compression suffix plus
//! `.bmap` next to it).

use crate::error::{Error, IoContext, Result};
use crate::io::bmap::{self, Bmap};
use crate::io::extents::data_extents;
use crate::manifest::Manifest;
use crate::output::compress::decompressor;
use crate::recipe::output_spec::Compression;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// An image to write.
#[derive(Debug)]
pub struct Source {
    /// The file.
    pub path: PathBuf,
    /// Its compression, from its name.
    pub compression: Option<Compression>,
    /// The (uncompressed) image size.
    pub size: u64,
    /// Mapped ranges (start, length, expected SHA-256 hex if known); `None`: every block.
    pub map: Option<Vec<(u64, u64, Option<String>)>>,
}

fn bmap_candidates(path: &Path) -> Vec<PathBuf> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut out = vec![path.with_file_name(format!("{name}.bmap"))];
    if let Some(c) = Compression::from_name(&name) {
        out.push(path.with_file_name(format!("{}.bmap", &name[..name.len() - c.ext().len()])));
    }
    out
}

/// Reads and checks a bmap file.
pub fn read_bmap(path: &Path) -> Result<Bmap> {
    let text = std::fs::read_to_string(path).at("reading the bmap", path)?;
    bmap::parse(&text).map_err(|e| Error::Usage(format!("{}: {e}", path.display())))
}

impl Source {
    /// Opens `path`, with the bmap `bmap_path`, or the one found next to it
    /// unless `no_bmap`.
    pub fn open(path: &Path, bmap_path: Option<&Path>, no_bmap: bool) -> Result<Source> {
        let meta = std::fs::metadata(path).at("reading", path)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let compression = Compression::from_name(&name);
        let found = match bmap_path {
            Some(p) => Some(p.to_path_buf()),
            None if no_bmap => None,
            None => bmap_candidates(path).into_iter().find(|p| p.is_file()),
        };
        let bmap = found.as_deref().map(read_bmap).transpose()?;
        let size = match (&bmap, compression) {
            (_, None) => meta.len(),
            (Some(b), Some(_)) => b.image_size,
            (None, Some(c)) => {
                size_from_manifest(path, &name).map_or_else(|| count(path, c), Ok)?
            }
        };
        if let Some(b) = &bmap {
            if b.image_size != size {
                return Err(Error::Usage(format!(
                    "{}: the bmap says {} bytes, the image has {size}",
                    path.display(),
                    b.image_size
                )));
            }
        }
        let map = if no_bmap {
            None
        } else {
            bmap.map(|b| {
                b.ranges
                    .into_iter()
                    .map(|(s, l, c)| (s, l, Some(c)))
                    .collect()
            })
        };
        Ok(Source {
            path: path.to_path_buf(),
            compression,
            size,
            map,
        })
    }

    /// A station base's holes are the regions no device's image depends on
    /// (`flash --recipe` skips them the same way): without a bmap (and
    /// without `--no-bmap`), an uncompressed base is mapped from its own
    /// data extents, so a card gets the base's data and the device's
    /// patches, not gigabytes of zeros. The stream is still read and hashed
    /// whole, so the delta's base SHA-256 is checked as before.
    pub fn map_holes(&mut self, no_bmap: bool) -> Result<()> {
        if self.map.is_some() || no_bmap || self.compression.is_some() {
            return Ok(());
        }
        let f = File::open(&self.path).at("opening", &self.path)?;
        let extents = data_extents(&f, self.size).at("mapping", &self.path)?;
        self.map = Some(extents.into_iter().map(|(s, l)| (s, l, None)).collect());
        Ok(())
    }

    /// A fresh reader over the image's (decompressed) bytes.
    pub fn reader(&self) -> Result<Box<dyn Read>> {
        let f = File::open(&self.path).at("opening", &self.path)?;
        match self.compression {
            None => Ok(Box::new(f)),
            Some(c) => decompressor(f, c).at("decompressing", &self.path),
        }
    }
}

/// The raw size a manifest next to a compressed image records for it.
fn size_from_manifest(path: &Path, name: &str) -> Option<u64> {
    let m = Manifest::read(path.parent()?).ok()?;
    m.devices
        .iter()
        .find(|e| e.file == name)
        .and_then(|e| e.artifacts.image_size)
}

/// The decompressed size, by decompressing once.
fn count(path: &Path, c: Compression) -> Result<u64> {
    let f = File::open(path).at("opening", path)?;
    let mut r = decompressor(f, c).at("decompressing", path)?;
    std::io::copy(&mut r, &mut std::io::sink()).at("decompressing", path)
}
