//! Everything FAT, in the order a volume is made: [`spec`], what the recipe
//! asks for (the FAT type and the host files to copy in); [`names`], which
//! names FAT accepts and their short forms; [`tree`], the files the volume
//! will hold, walked once and checked before anything is written;
//! [`geometry`], the FAT type and cluster size a volume of a given size gets,
//! and whether the tree fits; [`volume`], formatting the volume (with the
//! fatfs crate) and filling it; [`writer`], the one-pass filler; and
//! [`boot_sector`], reading a boot sector back (for the per-device serial).

pub mod spec;
pub mod names;
pub mod tree;
pub mod geometry;
pub mod volume;
pub mod writer;
pub mod boot_sector;
