//! A device's manifest entry skeleton: its DeviceName and ProductKey, the
//! IDs derived for it and its CSV row (never a secret), made once with its
//! job; an output's file, size and checksum complete it into an [`Entry`].

use crate::device_csv::reader::DeviceRow;
use crate::layout::ids::DeviceIds;
use crate::layout::Layout;
use crate::manifest::files::Sum;
use crate::manifest::{Entry, PartitionId};
use crate::recipe::TableKind;

/// Everything of a device's manifest entry but its output file.
#[derive(Debug, Clone)]
pub struct EntrySkeleton {
    device_name: String,
    product_key: String,
    disk_guid: String,
    mbr_signature: Option<String>,
    partitions: Vec<PartitionId>,
    row: u64,
}

impl EntrySkeleton {
    /// The skeleton of `row`'s entry, with `ids` in `layout`.
    pub fn new(layout: &Layout, row: &DeviceRow, ids: &DeviceIds) -> Self {
        EntrySkeleton {
            device_name: row.device_name.clone(),
            product_key: row.product_key.clone(),
            disk_guid: ids.disk_guid.to_string(),
            mbr_signature: (layout.table == TableKind::Mbr)
                .then(|| format!("{:08x}", ids.mbr_signature)),
            partitions: layout
                .partitions
                .iter()
                .zip(&ids.partition_guids)
                .map(|(p, g)| PartitionId {
                    name: p.name.clone(),
                    guid: g.to_string(),
                })
                .collect(),
            row: row.index,
        }
    }

    /// The entry for the output `file` of `size` bytes and checksum `sum`.
    pub fn entry(&self, file: String, size: u64, sum: Sum) -> Entry {
        let mut entry = Entry {
            file,
            size,
            sum,
            device_name: self.device_name.clone(),
            product_key: self.product_key.clone(),
            disk_guid: self.disk_guid.clone(),
            mbr_signature: self.mbr_signature.clone(),
            partitions: self.partitions.clone(),
            artifacts: Default::default(),
        };
        entry.artifacts.row = Some(self.row);
        entry
    }
}
