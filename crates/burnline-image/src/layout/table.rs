//! Writes one device's partition table (GPT with its protective MBR, or an
//! MBR) into a [`PatchDevice`], with the device's own IDs. The gpt crate
//! always picks random partition GUIDs, so the entries are built here and
//! handed over whole.

use super::ids::DeviceIds;
use super::Layout;
use crate::recipe::part_type::PartType;
use crate::recipe::TableKind;
use burnline_io::patch::{Patch, PatchDevice};
use std::collections::BTreeMap;
use std::io;

/// The partition-table patches for one device.
pub fn table_patches(layout: &Layout, ids: &DeviceIds) -> io::Result<Vec<Patch>> {
    let mut dev = PatchDevice::new(layout.disk_size);
    match layout.table {
        TableKind::Gpt => write_gpt(layout, ids, &mut dev)?,
        TableKind::Mbr => write_mbr(layout, ids, &mut dev)?,
    }
    Ok(dev.into_patches(0))
}

fn gpt_err(e: gpt::GptError) -> io::Error {
    io::Error::other(format!("writing the GPT: {e}"))
}

fn write_gpt(layout: &Layout, ids: &DeviceIds, dev: &mut PatchDevice) -> io::Result<()> {
    let ss = layout.sector_size;
    let lb = if ss == 4096 {
        gpt::disk::LogicalBlockSize::Lb4096
    } else {
        gpt::disk::LogicalBlockSize::Lb512
    };
    let last_lba = u32::try_from(layout.disk_size / ss - 1).unwrap_or(u32::MAX);
    gpt::mbr::ProtectiveMBR::with_lb_size(last_lba)
        .overwrite_lba0(dev)
        .map_err(|e| io::Error::other(format!("writing the protective MBR: {e}")))?;
    let mut disk = gpt::GptConfig::new()
        .writable(true)
        .logical_block_size(lb)
        .create_from_device(&mut *dev, Some(ids.disk_guid))
        .map_err(gpt_err)?;
    let mut parts = BTreeMap::new();
    for (i, ext) in layout.partitions.iter().enumerate() {
        let PartType::Gpt(type_guid) = ext.part_type else {
            return Err(io::Error::other("an MBR type in a GPT layout"));
        };
        parts.insert(
            i as u32 + 1,
            gpt::partition::Partition {
                part_type_guid: gpt::partition_types::Type {
                    guid: type_guid,
                    os: gpt::partition_types::OperatingSystem::None,
                },
                part_guid: ids.partition_guids[i],
                first_lba: ext.start / ss,
                last_lba: ext.end() / ss - 1,
                flags: if ext.bootable { 1 << 2 } else { 0 },
                name: ext.name.clone(),
            },
        );
    }
    disk.update_partitions(parts).map_err(gpt_err)?;
    disk.write().map_err(gpt_err)?;
    Ok(())
}

fn write_mbr(layout: &Layout, ids: &DeviceIds, dev: &mut PatchDevice) -> io::Result<()> {
    let ss = layout.sector_size;
    let mbr_err = |e: mbrman::Error| io::Error::other(format!("writing the MBR: {e}"));
    let mut mbr =
        mbrman::MBR::new_from(dev, ss as u32, ids.mbr_signature.to_le_bytes()).map_err(mbr_err)?;
    for (i, ext) in layout.partitions.iter().enumerate() {
        let PartType::Mbr(sys) = ext.part_type else {
            return Err(io::Error::other("a GPT type in an MBR layout"));
        };
        mbr[i + 1] = mbrman::MBRPartitionEntry {
            boot: if ext.bootable {
                mbrman::BOOT_ACTIVE
            } else {
                mbrman::BOOT_INACTIVE
            },
            first_chs: mbrman::CHS::empty(),
            sys,
            last_chs: mbrman::CHS::empty(),
            starting_lba: (ext.start / ss) as u32,
            sectors: (ext.size / ss) as u32,
        };
    }
    mbr.write_into(dev).map_err(mbr_err)
}
