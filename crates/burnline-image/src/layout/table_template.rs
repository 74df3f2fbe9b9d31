//! A GPT written once by the gpt crate and re-stamped per device. Devices of
//! one layout differ in their tables only by the disk GUID, the partition
//! GUIDs and the two CRC32s that cover them; running the gpt crate per device
//! costs most of a device's CPU time (its CRC32 is bytewise over both 16 KiB
//! partition arrays). The template gives the same bytes as [`table_patches`]
//! for any IDs, which the tests check. An MBR has no checksum and is cheap to
//! write, so it is written per device as before.

use super::ids::DeviceIds;
use super::table::table_patches;
use super::Layout;
use crate::recipe::TableKind;
use burnline_io::patch::{overlay, sparse_patches, Patch};
use std::io;

const SIGNATURE: &[u8; 8] = b"EFI PART";

/// A layout's partition table, ready to be stamped with a device's IDs.
#[derive(Debug)]
pub enum TableTemplate {
    /// GPT: the regions it occupies, as the gpt crate wrote them.
    Gpt(Vec<Region>),
    /// MBR: written per device.
    Mbr,
}

/// One contiguous copy of the GPT (primary: protective MBR, header and
/// array; backup: array and header), with where its fields are.
#[derive(Debug)]
pub struct Region {
    offset: u64,
    bytes: Vec<u8>,
    /// Offset of the header within `bytes`.
    header: usize,
    /// Offset of the partition array within `bytes`.
    array: usize,
    entries: usize,
    entry_size: usize,
    header_size: usize,
}

impl TableTemplate {
    /// Writes `layout`'s table once, with placeholder IDs.
    pub fn new(layout: &Layout) -> io::Result<Self> {
        if layout.table == TableKind::Mbr {
            return Ok(TableTemplate::Mbr);
        }
        let ids = DeviceIds::derive(&[0; 16], "", layout);
        let patches = table_patches(layout, &ids)?;
        let regions = layout
            .table_regions
            .iter()
            .map(|&(start, end)| Region::from_patches(layout, &patches, start, end))
            .collect::<io::Result<Vec<_>>>()?;
        Ok(TableTemplate::Gpt(regions))
    }

    /// The partition-table patches for one device: the same bytes as
    /// [`table_patches`] gives.
    pub fn patches(&self, layout: &Layout, ids: &DeviceIds) -> io::Result<Vec<Patch>> {
        let TableTemplate::Gpt(regions) = self else {
            return table_patches(layout, ids);
        };
        let mut out = Vec::new();
        for r in regions {
            let mut bytes = r.bytes.clone();
            r.stamp(&mut bytes, ids);
            out.extend(sparse_patches(r.offset, &bytes));
        }
        Ok(out)
    }
}

fn u32_at(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(v)
}

impl Region {
    /// The bytes of `start..end` as `patches` left them, and the header found
    /// in them.
    fn from_patches(layout: &Layout, patches: &[Patch], start: u64, end: u64) -> io::Result<Self> {
        let mut bytes = vec![0u8; (end - start) as usize];
        overlay(patches, start, &mut bytes);
        let ss = layout.sector_size;
        // The primary header is at LBA 1, the backup at the last LBA.
        let header_at = if start == 0 {
            ss
        } else {
            layout.disk_size - ss
        };
        let header = (header_at - start) as usize;
        let bad = |what: &str| io::Error::other(format!("the GPT template: {what}"));
        if bytes.get(header..header + 8) != Some(SIGNATURE) {
            return Err(bad("no header where the layout puts it"));
        }
        let array_at = u64_at(&bytes, header + 72) * ss;
        let (entries, entry_size) = (u32_at(&bytes, header + 80), u32_at(&bytes, header + 84));
        let header_size = u32_at(&bytes, header + 12);
        let array = array_at
            .checked_sub(start)
            .map(|a| a as usize)
            .filter(|a| a + entries * entry_size <= bytes.len())
            .ok_or_else(|| bad("partition array outside its region"))?;
        if header_size < 92 || header + header_size > bytes.len() || entry_size < 32 {
            return Err(bad("unexpected header or entry size"));
        }
        Ok(Region {
            offset: start,
            bytes,
            header,
            array,
            entries,
            entry_size,
            header_size,
        })
    }

    /// Puts `ids` into a copy of the region and recomputes both CRC32s.
    fn stamp(&self, bytes: &mut [u8], ids: &DeviceIds) {
        let h = self.header;
        bytes[h + 56..h + 72].copy_from_slice(&ids.disk_guid.to_bytes_le());
        for (i, guid) in ids.partition_guids.iter().enumerate().take(self.entries) {
            let e = self.array + i * self.entry_size;
            bytes[e + 16..e + 32].copy_from_slice(&guid.to_bytes_le());
        }
        let array = &bytes[self.array..self.array + self.entries * self.entry_size];
        let array_crc = crc32fast::hash(array);
        bytes[h + 88..h + 92].copy_from_slice(&array_crc.to_le_bytes());
        bytes[h + 16..h + 20].fill(0);
        let header_crc = crc32fast::hash(&bytes[h..h + self.header_size]);
        bytes[h + 16..h + 20].copy_from_slice(&header_crc.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recipe;

    fn layout(yaml: &str) -> Layout {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("r.yaml");
        std::fs::write(&path, yaml).expect("write");
        let recipe = recipe::load(&path).expect("recipe");
        super::super::plan(&recipe).expect("layout")
    }

    fn recipe_yaml(table: &str, sector: u32) -> String {
        format!(
            "disk: {{size: 64MiB, table: {table}, sector_size: {sector}, alignment: 1MiB, \
             seed: 6b86b273ff34fce19d6b804eff5a3f57, source_date_epoch: 1700000000}}\n\
             partitions:\n\
             - {{name: boot, size: 16MiB, type: {boot}, bootable: true}}\n\
             - {{name: creds, size: 1MiB, type: linux, credentials: {{}}}}\n\
             - {{name: more, size: 1MiB, type: linux}}\n\
             - {{name: data, size: fill, type: linux}}\n\
             auth: {{mode: device-secret, product_key: a1X2bEnP82z}}\n",
            boot = if table == "gpt" { "esp" } else { "fat16" },
        )
    }

    #[test]
    fn stamped_template_equals_the_gpt_crate_for_every_device() {
        for (table, sector) in [("gpt", 512), ("gpt", 4096), ("mbr", 512)] {
            let l = layout(&recipe_yaml(table, sector));
            let t = TableTemplate::new(&l).expect("template");
            assert_eq!(matches!(t, TableTemplate::Gpt(_)), table == "gpt");
            for name in ["gw-000000", "gw-000001", "第三台", "x"] {
                let ids = DeviceIds::derive(&[7; 16], name, &l);
                let want = table_patches(&l, &ids).expect("gpt crate");
                let got = t.patches(&l, &ids).expect("template");
                assert!(!want.is_empty());
                assert_eq!(got, want, "{table}/{sector} {name}");
            }
        }
    }
}
