//! A device's manifest entry: its output file, size and checksum, its
//! DeviceName and ProductKey, and the IDs derived for it (never a secret).

use super::job::{DeviceBuilder, Job};
use crate::manifest::files::Sum;
use crate::manifest::{Entry, PartitionId};
use crate::recipe::TableKind;

/// A device's manifest entry for its output `file` of `size` bytes and
/// checksum `sum`.
pub fn entry_for(b: &DeviceBuilder<'_>, job: &Job<'_>, file: String, size: u64, sum: Sum) -> Entry {
    let ids = &job.ids;
    Entry {
        file,
        size,
        sum,
        device_name: job.row.device_name.clone(),
        product_key: job.row.product_key.clone(),
        disk_guid: ids.disk_guid.to_string(),
        mbr_signature: (b.layout.table == TableKind::Mbr)
            .then(|| format!("{:08x}", ids.mbr_signature)),
        partitions: b
            .layout
            .partitions
            .iter()
            .zip(&ids.partition_guids)
            .map(|(p, g)| PartitionId {
                name: p.name.clone(),
                guid: g.to_string(),
            })
            .collect(),
        artifacts: Default::default(),
    }
}
