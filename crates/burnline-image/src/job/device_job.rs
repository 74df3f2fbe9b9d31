//! One device's job, computed once and used by every output: full images,
//! base+delta output and `flash --recipe`. A [`DeviceBuilder`] holds what is
//! the same for every device of a run (recipe, layout, base, the table
//! template, the credentials partition); [`DeviceBuilder::jobs`] turns CSV
//! rows into [`Job`]s: the row, its credentials (registered on the host
//! first when the recipe says `register: host`, the secret in the ledger
//! before anything uses it), its derived IDs, its patches over the base,
//! its output file names and its manifest entry skeleton. Writers are then
//! handed these and never call back here.

use crate::base::Base;
use crate::credentials::partition::CredentialsPartition;
use crate::device_csv::reader::DeviceRow;
use crate::error::{Error, IoContext, Result};
use crate::file_name;
use crate::job::entry::EntrySkeleton;
use crate::layout::ids::{self, DeviceIds};
use crate::layout::table_template::TableTemplate;
use crate::layout::Layout;
use crate::output::names::OutputNames;
use crate::recipe::{AuthMode, Recipe};
use crate::registration::host::HostRegistrar;
use burnline_core::credentials::payload::Credentials;
use burnline_io::patch::Patch;
use burnline_io::tree_digest::BaseTree;
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
    /// Where a device's DeviceSecret comes from when the recipe registers
    /// on the host; a pass-through otherwise.
    pub registrar: HostRegistrar,
}

/// One device, ready to be written: its row, credentials, IDs, patches,
/// output names and manifest entry skeleton.
pub struct Job<'r> {
    /// The CSV row.
    pub row: &'r DeviceRow,
    /// What its credentials partition carries.
    pub creds: Credentials,
    /// Its disk and partition GUIDs, derived once.
    pub ids: DeviceIds,
    /// Every byte that differs from the base, sorted by offset.
    pub patches: Vec<Patch>,
    /// The file names its outputs take.
    pub outputs: OutputNames,
    /// Its manifest entry, but for the output file.
    pub entry: EntrySkeleton,
}

impl<'a> DeviceBuilder<'a> {
    /// The builder for `recipe`'s devices over `base`, writing into
    /// `out_dir`, with credentials from `registrar`.
    pub fn new(
        recipe: &'a Recipe,
        layout: &'a Layout,
        base: &'a Base,
        out_dir: PathBuf,
        reflink: bool,
        registrar: HostRegistrar,
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
            registrar,
        })
    }

    /// The jobs of `rows`, in row order. Registers on the host first where
    /// the recipe asks for it (a few devices at a time); a device the
    /// platform refuses fails alone.
    pub fn jobs<'r>(&self, rows: &'r [DeviceRow]) -> Vec<Result<Job<'r>>> {
        let creds = self
            .registrar
            .credentials(rows, |row| self.plain_credentials(row));
        rows.iter()
            .zip(creds)
            .map(|(row, c)| c.and_then(|c| self.job(row, c)))
            .collect()
    }

    /// One device's job when its DeviceSecret is already known: `issued`,
    /// the secret the platform issued at registration (一型一密 with
    /// `register: host`, registered by the caller, such as the identity
    /// pool), or the row's own (一机一密) when `None`.
    pub fn job_with<'r>(
        &self,
        row: &'r DeviceRow,
        issued: Option<burnline_core::secret::Secret>,
    ) -> Result<Job<'r>> {
        let mut creds = self.plain_credentials(row);
        if let Some(secret) = issued {
            creds.device_secret = Some(secret);
            if !creds.keep_product_secret {
                creds.product_secret = None;
            }
        }
        self.job(row, creds)
    }

    /// The credentials a device carries when nothing was registered for it:
    /// its DeviceSecret (一机一密) or the product certificate (一型一密).
    fn plain_credentials(&self, row: &DeviceRow) -> Credentials {
        let recipe = self.recipe;
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
            keep_product_secret: self.creds.keep_product_secret,
            register_via: recipe.auth.register_via.clone(),
        }
    }

    /// One device's job from its resolved credentials.
    fn job<'r>(&self, row: &'r DeviceRow, creds: Credentials) -> Result<Job<'r>> {
        let ids = DeviceIds::derive(&self.recipe.disk.seed, &row.device_name, self.layout);
        let patches = self.patches(&ids, &creds)?;
        let image = file_name::render(
            &self.recipe.output_pattern,
            &row.device_name,
            &row.product_key,
        );
        Ok(Job {
            row,
            creds,
            entry: EntrySkeleton::new(self.layout, row, &ids),
            outputs: OutputNames::of(image),
            ids,
            patches,
        })
    }

    /// Every patch of a device, sorted by offset.
    fn patches(&self, ids: &DeviceIds, creds: &Credentials) -> Result<Vec<Patch>> {
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
}
