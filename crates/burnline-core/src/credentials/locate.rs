//! Finds the credentials partition on a block device or an image file: by
//! GPT partition name, by MBR partition number (1–4), or at an explicit
//! offset and size. Whichever way, the partition found lies inside the
//! device (its real size, as [`crate::table::device_size`] reads it), so
//! nothing later reads past its end or allocates more than it holds. A
//! GPT name held by two partitions is refused rather than the first taken,
//! and so is a table whose partitions overlap ([`crate::table::read`]).

use crate::table::{self, Device, Kind, TableError};

/// The credentials partition on some storage.
#[derive(Debug, Clone, Copy)]
pub struct Partition {
    /// Byte offset of the partition.
    pub offset: u64,
    /// Its size in bytes.
    pub size: u64,
}

/// How to find the partition.
#[derive(Debug, Clone)]
pub enum Where {
    /// A GPT partition name, or an MBR partition number.
    Named(String),
    /// Explicit bytes.
    At {
        /// Offset in bytes.
        offset: u64,
        /// Size in bytes.
        size: u64,
    },
}

/// Why the partition was not found.
#[derive(Debug, thiserror::Error)]
pub enum LocateError {
    /// Explicit bytes that do not lie inside the device: a usage error.
    #[error("a partition of {size} bytes at offset {offset} ends past the end of the device ({device} bytes)")]
    OutsideDevice {
        /// The offset asked for.
        offset: u64,
        /// The size asked for.
        size: u64,
        /// The device's size.
        device: u64,
    },
    /// The partition table cannot be read (or the device cannot).
    #[error(transparent)]
    Table(#[from] TableError),
    /// The table is fine but has no such partition.
    #[error("{0}")]
    NotFound(String),
    /// Two or more partitions have the name asked for.
    #[error("{count} partitions are named `{name}` (partitions {numbers}): the credentials partition must be the only one with its name")]
    Ambiguous {
        /// The name.
        name: String,
        /// How many have it.
        count: usize,
        /// Their numbers, `1, 2`.
        numbers: String,
    },
}

/// Finds the partition; the error says what was looked for and not found.
pub fn find(dev: &mut impl Device, at: &Where) -> Result<Partition, LocateError> {
    match at {
        Where::At { offset, size } => {
            let device = table::device_size(dev).map_err(TableError::Io)?;
            match offset.checked_add(*size) {
                Some(end) if end <= device => Ok(Partition {
                    offset: *offset,
                    size: *size,
                }),
                _ => Err(LocateError::OutsideDevice {
                    offset: *offset,
                    size: *size,
                    device,
                }),
            }
        }
        Where::Named(name) => {
            let t = table::read(dev)?;
            let found = match t.kind {
                Kind::Gpt { .. } => {
                    let named: Vec<_> = t.partitions.iter().filter(|p| p.name == *name).collect();
                    if named.len() > 1 {
                        return Err(LocateError::Ambiguous {
                            name: name.clone(),
                            count: named.len(),
                            numbers: named
                                .iter()
                                .map(|p| p.number.to_string())
                                .collect::<Vec<_>>()
                                .join(", "),
                        });
                    }
                    named.first().copied()
                }
                Kind::Mbr { .. } => {
                    let number: u32 = name
                        .parse()
                        .ok()
                        .filter(|i| (1..=4).contains(i))
                        .ok_or_else(|| {
                            LocateError::NotFound(format!(
                                "no GPT here, and `{name}` is not an MBR partition number (1-4)"
                            ))
                        })?;
                    let found = t.partitions.iter().find(|p| p.number == number);
                    if found.is_none() {
                        return Err(LocateError::NotFound(format!(
                            "MBR partition {number} is empty"
                        )));
                    }
                    found
                }
            };
            found
                .map(|p| Partition {
                    offset: p.start,
                    size: p.size,
                })
                .ok_or_else(|| {
                    LocateError::NotFound(format!("the GPT has no partition named `{name}`"))
                })
        }
    }
}
