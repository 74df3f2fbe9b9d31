//! What a FAT volume is made of, as the recipe gives it: its FAT type
//! ([`FatBits`]) and the host files copied in ([`FatFile`]).

use std::path::PathBuf;

/// FAT12/16/32.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FatBits {
    /// FAT12.
    Fat12,
    /// FAT16.
    Fat16,
    /// FAT32.
    Fat32,
}

/// One host path to copy into a FAT volume.
#[derive(Debug)]
pub struct FatFile {
    /// Absolute host path (a file or a directory).
    pub source: PathBuf,
    /// Destination inside the volume, `/`-separated, without a leading `/`.
    pub dest: String,
}
