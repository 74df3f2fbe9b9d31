//! Turns one device's credentials into the bytes of its credentials
//! partition, as patches over the (zero) partition of the base image: the
//! record format writes slot A with sequence 1 and leaves slot B zero; the
//! FAT format builds a small FAT volume holding the JSON file.

use crate::layout::Extent;
use crate::recipe::CredentialsFormat;
use burnline_core::credentials::payload::Credentials;
use burnline_core::credentials::record;
use burnline_fat::tree::Tree;
use burnline_fat::volume;
use burnline_io::patch::{Patch, PatchDevice};
use burnline_io::BlockAt;
use std::io;
use zeroize::Zeroizing;

/// Settings shared by every device's credentials partition.
#[derive(Debug, Clone)]
pub struct CredentialsPartition {
    /// Where it is.
    pub extent: Extent,
    /// The format.
    pub format: CredentialsFormat,
    /// Sector size, for the FAT format.
    pub sector: u64,
    /// FAT timestamps.
    pub epoch: i64,
    /// 一型一密: keep the ProductSecret after registering.
    pub keep_product_secret: bool,
}

impl CredentialsPartition {
    /// The patches holding `creds`; `serial` is the FAT volume serial for the
    /// FAT format.
    pub fn patches(&self, creds: &Credentials, serial: u32) -> io::Result<Vec<Patch>> {
        let json = creds.to_json();
        match &self.format {
            CredentialsFormat::Record => {
                let slot = record::encode(1, &json, self.extent.size / 2)
                    .map_err(|e| io::Error::other(e.to_string()))?;
                Ok(vec![Patch {
                    offset: self.extent.start,
                    bytes: Zeroizing::new(slot),
                }])
            }
            CredentialsFormat::Fat { path, label } => {
                let mut tree = Tree::default();
                tree.add_bytes(path, &json)
                    .map_err(|rule| io::Error::new(io::ErrorKind::InvalidInput, rule))?;
                let mut dev = PatchDevice::new(self.extent.size);
                volume::build(
                    &mut dev,
                    self.extent.size,
                    self.sector,
                    None,
                    Some(label),
                    self.epoch,
                    &tree,
                )?;
                for off in volume::serial_offsets(&dev)? {
                    dev.write_all_at(&serial.to_le_bytes(), off)?;
                }
                Ok(dev.into_patches(self.extent.start))
            }
        }
    }
}
