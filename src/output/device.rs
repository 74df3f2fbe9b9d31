//! Builds one device's image: the base image shared by reflink or copied
//! extent by extent, then the device's patches (partition table with its own
//! IDs, FAT serials, credentials partition) written over it. The image goes
//! to a temp name with mode 0600; the batch makes it durable and renames it.
//! Its checksum is the SHA-256 of base plus patches, or with a [`BaseTree`]
//! their BLAKE3, rehashing only the leaves the patches touch.

use crate::base::Base;
use crate::credentials::partition::CredentialsPartition;
use crate::credentials::payload::Credentials;
use crate::devices::reader::DeviceRow;
use crate::error::{Error, IoContext, Result};
use crate::identity::file_name;
use crate::io::atomic;
use crate::io::block_writes::write_patches;
use crate::io::extents::clone_or_copy;
use crate::io::hash::{hash_patched, DigestKind};
use crate::io::patch::Patch;
use crate::io::tree_digest::BaseTree;
use crate::layout::ids::{self, DeviceIds};
use crate::layout::table_template::TableTemplate;
use crate::layout::Layout;
use crate::manifest::extra::Sum;
use crate::manifest::{Entry, PartitionId};
use crate::recipe::{AuthMode, Recipe, TableKind};
use std::path::PathBuf;
use zeroize::Zeroizing;

/// Everything a device build needs that is the same for every device.
pub struct DeviceBuilder<'a> {
    /// The recipe.
    pub recipe: &'a Recipe,
    /// Its layout.
    pub layout: &'a Layout,
    /// The base image.
    pub base: &'a Base,
    /// The credentials partition.
    pub creds: CredentialsPartition,
    /// Output directory.
    pub out_dir: PathBuf,
    /// Whether FICLONE works here.
    pub reflink: bool,
    /// The partition table, stamped per device.
    pub table: TableTemplate,
    /// The base's BLAKE3 tree, when images are listed with BLAKE3 (else
    /// SHA-256).
    pub tree: Option<BaseTree>,
}

/// A device image written under its temp name.
#[derive(Debug)]
pub struct Built {
    /// Its manifest entry.
    pub entry: Entry,
    /// Temp path.
    pub temp: PathBuf,
    /// Final path.
    pub final_path: PathBuf,
}

/// The credentials a device carries when nothing was registered for it:
/// its DeviceSecret (一机一密) or the product certificate (一型一密).
pub fn credentials_for(recipe: &Recipe, row: &DeviceRow, keep_product_secret: bool) -> Credentials {
    let (device_secret, product_secret) = match &recipe.auth.mode {
        AuthMode::DeviceSecret => (row.device_secret.clone(), None),
        AuthMode::ProductSecret { product_secret, .. } => (None, Some(product_secret.clone())),
    };
    Credentials {
        product_key: row.product_key.clone(),
        device_name: row.device_name.clone(),
        device_secret,
        product_secret,
        region: recipe.auth.region.clone(),
        endpoint: recipe.auth.endpoint.clone(),
        keep_product_secret,
    }
}

impl<'a> DeviceBuilder<'a> {
    /// The builder for `recipe`'s devices over `base`, writing into `out_dir`.
    pub fn new(
        recipe: &'a Recipe,
        layout: &'a Layout,
        base: &'a Base,
        out_dir: PathBuf,
        reflink: bool,
    ) -> Result<Self> {
        let (index, spec) = recipe.credentials().ok_or_else(|| {
            Error::invalid(
                recipe.path.display().to_string(),
                "partitions",
                "no credentials partition",
            )
        })?;
        Ok(DeviceBuilder {
            recipe,
            layout,
            base,
            creds: CredentialsPartition {
                extent: layout.partitions[index].clone(),
                format: spec.format.clone(),
                sector: layout.sector_size,
                epoch: recipe.disk.source_date_epoch,
                keep_product_secret: spec.keep_product_secret,
            },
            out_dir,
            reflink,
            table: TableTemplate::new(layout)
                .with_context(|| "writing the partition table".into())?,
            tree: None,
        })
    }

    /// The final file name for a device.
    pub fn file_name(&self, row: &DeviceRow) -> String {
        file_name::render(
            &self.recipe.output_pattern,
            &row.device_name,
            &row.product_key,
        )
    }

    /// Every patch of a device, sorted by offset.
    pub fn patches(&self, ids: &DeviceIds, creds: &Credentials) -> Result<Vec<Patch>> {
        let name = &creds.device_name;
        let mut patches = self
            .table
            .patches(self.layout, ids)
            .with_context(|| format!("device {name}: partition table"))?;
        for slot in &self.base.serials {
            let serial = ids::fat_serial(&ids.partition_guids[slot.partition]);
            for off in &slot.offsets {
                patches.push(Patch {
                    offset: *off,
                    bytes: Zeroizing::new(serial.to_le_bytes().to_vec()),
                });
            }
        }
        let serial = ids::fat_serial(&ids.partition_guids[self.creds.extent.index]);
        patches.extend(
            self.creds
                .patches(creds, serial)
                .with_context(|| format!("device {name}: credentials partition"))?,
        );
        patches.sort_by_key(|p| p.offset);
        Ok(patches)
    }

    /// Writes a device's image under its temp name and returns its entry.
    /// On failure the temp file is removed. Also returns the device's
    /// patches, which its bmap is made from.
    pub fn build(&self, row: &DeviceRow, creds: &Credentials) -> Result<(Built, Vec<Patch>)> {
        let file = self.file_name(row);
        let final_path = self.out_dir.join(&file);
        let temp = atomic::temp_path(&final_path);
        let result = self.write(row, creds, file, &temp);
        if result.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        result.map(|(entry, patches)| {
            (
                Built {
                    entry,
                    temp,
                    final_path,
                },
                patches,
            )
        })
    }

    fn write(
        &self,
        row: &DeviceRow,
        creds: &Credentials,
        file: String,
        temp: &std::path::Path,
    ) -> Result<(Entry, Vec<Patch>)> {
        let ids = DeviceIds::derive(&self.recipe.disk.seed, &row.device_name, self.layout);
        let patches = self.patches(&ids, creds)?;
        let out = atomic::create_temp(temp)?;
        clone_or_copy(&self.base.file, &out, self.base.len, self.reflink)
            .at("copying the base image into", temp)?;
        write_patches(&self.base.file, self.base.len, &out, &patches).at("writing", temp)?;
        // Start writing the image back now, from this worker, so that the
        // batch's `syncfs` finds it mostly on disk (Linux starts writeback on
        // DONTNEED; the advice changes nothing else). Advice only: where a
        // file system refuses it, the batch's `syncfs` still does the work.
        let _ = rustix::fs::fadvise(&out, 0, None, rustix::fs::Advice::DontNeed);
        let sum = match &self.tree {
            Some(tree) => Sum::new(
                DigestKind::Blake3,
                &tree
                    .digest_patched(&self.base.file, &patches)
                    .at("hashing the image of", temp)?,
            ),
            None => Sum::new(
                DigestKind::Sha256,
                &hash_patched(&self.base.file, self.base.len, &self.base.extents, &patches)
                    .at("hashing the image of", temp)?,
            ),
        };
        let entry = entry_for(self, row, &ids, file, self.base.len, sum);
        Ok((entry, patches))
    }
}

/// A device's manifest entry for its output `file` of `size` bytes and
/// checksum `sum`.
pub fn entry_for(
    b: &DeviceBuilder<'_>,
    row: &DeviceRow,
    ids: &DeviceIds,
    file: String,
    size: u64,
    sum: Sum,
) -> Entry {
    Entry {
        file,
        size,
        sum,
        device_name: row.device_name.clone(),
        product_key: row.product_key.clone(),
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
