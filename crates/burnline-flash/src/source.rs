//! What `flash` writes: an image file, raw or compressed (`.zst`, `.xz`,
//! `.gz`, streamed) or an Android sparse image (`.simg`, or any file that
//! starts with the sparse magic: burnline's own and `img2simg`'s), its
//! size, and the map that says which blocks hold data: for a raw image its
//! bmap (`--bmap`, or `IMAGE.bmap` / the name without the compression suffix
//! plus `.bmap` next to it), for a sparse image its RAW and FILL chunks (its
//! DONT_CARE chunks are skipped like a bmap's holes). A sparse file is
//! checked whole (every chunk, and its CRC32 chunks if it has any) before
//! anything is written.

use burnline_image::base::Base;
use burnline_image::error::{Error, IoContext, Result};
use burnline_image::manifest::Manifest;
use burnline_image::output::compress::decompressor;
use burnline_image::recipe::output_spec::Compression;
use burnline_io::bmap::{self, Bmap};
use burnline_io::extents::data_extents;
use burnline_sparse::{Layout, SparseError, SparseReader};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// An image to write.
#[derive(Debug, Clone)]
pub struct Source {
    /// The file.
    pub path: PathBuf,
    /// Its compression, from its name.
    pub compression: Option<Compression>,
    /// The (uncompressed) image size.
    pub size: u64,
    /// Mapped ranges (start, length, expected SHA-256 hex if known); `None`: every block.
    pub map: Option<Vec<(u64, u64, Option<String>)>>,
    /// Whether it is an Android sparse image (read expanded).
    pub sparse: bool,
}

impl Source {
    /// A base the recipe's path built (`flash --recipe`, `flash --pool`,
    /// the station): raw, mapped by its data extents.
    pub fn of_base(base: &Base) -> Self {
        Source {
            path: base.path.clone(),
            compression: None,
            size: base.len,
            map: Some(base.extents.iter().map(|&(s, l)| (s, l, None)).collect()),
            sparse: false,
        }
    }
}

/// The file extension of Android sparse images.
pub const SIMG_EXT: &str = ".simg";

/// Whether `path` is to be read as an Android sparse image: its name ends
/// in `.simg`, or it starts with the sparse magic.
pub fn is_sparse(path: &Path) -> Result<bool> {
    if path.to_string_lossy().ends_with(SIMG_EXT) {
        return Ok(true);
    }
    let mut magic = [0u8; 4];
    let mut f = File::open(path).at("opening", path)?;
    let n = f.read(&mut magic).at("reading", path)?;
    Ok(n == 4 && u32::from_le_bytes(magic) == burnline_sparse::MAGIC)
}

/// A sparse file's refusal: its name and the rule broken, one line (exit
/// 2); an I/O failure reading it stays an I/O error (exit 3).
pub fn sparse_error(path: &Path, e: SparseError) -> Error {
    match e {
        SparseError::Io(source) => read_error(path, source),
        other => refused(path, &other),
    }
}

fn refused(path: &Path, why: &SparseError) -> Error {
    Error::Usage(format!(
        "{}: not a valid Android sparse image: {why}; nothing was written",
        path.display()
    ))
}

/// An error from reading a [`SparseReader`]: the rule broken when it is
/// one, else the I/O failure.
fn read_error(path: &Path, e: std::io::Error) -> Error {
    match e.get_ref().and_then(|i| i.downcast_ref::<SparseError>()) {
        Some(why) => refused(path, why),
        None => Error::Io {
            context: format!("reading {}", path.display()),
            source: e,
        },
    }
}

/// Checks the sparse file `path` whole: every chunk, and when it holds
/// CRC32 chunks, the image they check (by expanding it once).
pub fn sparse_layout(path: &Path) -> Result<Layout> {
    let f = File::open(path).at("opening", path)?;
    let layout = burnline_sparse::layout(BufReader::new(f)).map_err(|e| sparse_error(path, e))?;
    if layout.has_crc32() {
        let f = File::open(path).at("opening", path)?;
        let mut r = SparseReader::new(BufReader::with_capacity(1 << 20, f))
            .map_err(|e| sparse_error(path, e))?;
        std::io::copy(&mut r, &mut std::io::sink()).map_err(|e| read_error(path, e))?;
    }
    Ok(layout)
}

/// Where the bmap of the image `path` is looked for, in order.
pub fn bmap_candidates(path: &Path) -> Vec<PathBuf> {
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
        if is_sparse(path)? {
            return Self::open_sparse(path, bmap_path, no_bmap);
        }
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
            sparse: false,
        })
    }

    /// Opens the Android sparse image `path`, checked whole; its map is its
    /// RAW and FILL chunks (unless `no_bmap`: then every block is written,
    /// DONT_CARE ones as zeros).
    fn open_sparse(path: &Path, bmap_path: Option<&Path>, no_bmap: bool) -> Result<Source> {
        if bmap_path.is_some() {
            return Err(Error::Usage(format!(
                "{}: an Android sparse image maps its own blocks; --bmap is for raw images",
                path.display()
            )));
        }
        let layout = sparse_layout(path)?;
        let map = (!no_bmap).then(|| {
            layout
                .written_ranges()
                .into_iter()
                .map(|(s, l)| (s, l, None))
                .collect()
        });
        Ok(Source {
            path: path.to_path_buf(),
            compression: None,
            size: layout.header.image_size(),
            map,
            sparse: true,
        })
    }

    /// A delta set base's holes are the regions no device's image depends on
    /// (`flash --recipe` skips them the same way): without a bmap (and
    /// without `--no-bmap`), an uncompressed base is mapped from its own
    /// data extents, so a card gets the base's data and the device's
    /// patches, not gigabytes of zeros (a BLAKE3 delta is checked through
    /// the base's tree, `plan`; any other still streams and hashes the
    /// image whole).
    pub fn map_holes(&mut self, no_bmap: bool) -> Result<()> {
        if self.map.is_some() || self.sparse || no_bmap || self.compression.is_some() {
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
        if self.sparse {
            let r = SparseReader::new(BufReader::with_capacity(1 << 20, f))
                .map_err(|e| sparse_error(&self.path, e))?;
            return Ok(Box::new(r));
        }
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
