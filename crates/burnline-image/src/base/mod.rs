//! The base image: everything that is the same on every device (FAT volumes,
//! raw partition images, blobs), built once per run into a sparse file in the
//! output directory. The partition table and the credentials partition are
//! left zero here: they are what differs per device.

use crate::error::{IoContext, Result};
use crate::layout::Layout;
use crate::recipe::{Content, Recipe};
use burnline_fat::volume;
use burnline_io::atomic;
use burnline_io::extents::{copy_extents, data_extents};
use burnline_io::window::Window;
use burnline_io::write_back::WriteBack;
use std::fs::File;
use std::path::{Path, PathBuf};

/// Where a FAT volume's serial sits, so each device can get its own.
#[derive(Debug, Clone)]
pub struct SerialSlot {
    /// Index of the partition in the layout.
    pub partition: usize,
    /// Absolute byte offsets of the 4-byte serial (boot sector, FAT32 backup).
    pub offsets: Vec<u64>,
}

/// A built base image. The file is removed when this is dropped.
#[derive(Debug)]
pub struct Base {
    /// The open base image.
    pub file: File,
    /// Its path (a dot-file in the output directory).
    pub path: PathBuf,
    /// Its length: the disk size.
    pub len: u64,
    /// Its data extents.
    pub extents: Vec<(u64, u64)>,
    /// FAT serial locations.
    pub serials: Vec<SerialSlot>,
}

impl Drop for Base {
    fn drop(&mut self) {
        // Best effort: a leftover base is a dot-file a rerun cleans up.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A fresh base image path in `dir`, unpredictable (see [`atomic`]).
fn base_path(dir: &Path) -> Result<PathBuf> {
    Ok(dir.join(format!(".burnline-base-{}.img", atomic::random_hex()?)))
}

/// Builds the base image for `recipe` in `dir`.
pub fn build(recipe: &Recipe, layout: &Layout, dir: &Path) -> Result<Base> {
    let path = base_path(dir)?;
    let file = atomic::create_temp(&path)?;
    file.set_len(layout.disk_size)
        .at("sizing the base image", &path)?;
    let mut base = Base {
        file,
        path,
        len: layout.disk_size,
        extents: Vec::new(),
        serials: Vec::new(),
    };
    for ext in &layout.partitions {
        let part = &recipe.partitions[ext.index];
        match &part.content {
            Content::Fat(spec) => {
                let mut w = Window::new(&base.file, ext.start, ext.size);
                let mut cached = WriteBack::new(&mut w, ext.size);
                volume::tree_of(&spec.files)
                    .and_then(|tree| {
                        volume::build(
                            &mut cached,
                            ext.size,
                            layout.sector_size,
                            spec.bits,
                            spec.label.as_deref(),
                            recipe.disk.source_date_epoch,
                            &tree,
                        )
                    })
                    .and_then(|_| cached.write_out())
                    .with_context(|| {
                        format!("building the FAT volume of partition `{}`", part.name)
                    })?;
                let offsets = volume::serial_offsets(&w).with_context(|| {
                    format!("reading back the FAT volume of partition `{}`", part.name)
                })?;
                base.serials.push(SerialSlot {
                    partition: ext.index,
                    offsets: offsets.into_iter().map(|o| o + ext.start).collect(),
                });
            }
            Content::Image(src) => {
                copy_into(&base.file, src, ext.start, ext.size).with_context(|| {
                    format!("copying {} into partition `{}`", src.display(), part.name)
                })?
            }
            Content::Empty | Content::Credentials(_) => {}
        }
    }
    for blob in &recipe.blobs {
        copy_into(&base.file, &blob.source, blob.offset, blob.len).with_context(|| {
            format!(
                "writing blob {} at byte {}",
                blob.source.display(),
                blob.offset
            )
        })?;
    }
    base.extents = data_extents(&base.file, base.len).at("mapping the base image", &base.path)?;
    Ok(base)
}

fn copy_into(dst: &File, src: &Path, at: u64, room: u64) -> std::io::Result<()> {
    let f = burnline_io::source::open_regular(src)?;
    let len = f.metadata()?.len();
    if len > room {
        return Err(std::io::Error::other(format!(
            "{len} bytes do not fit in {room}"
        )));
    }
    copy_extents(&f, dst, &data_extents(&f, len)?, at)
}
