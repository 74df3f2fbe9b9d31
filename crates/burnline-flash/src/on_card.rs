//! Which identity a card holds, read from where the recipe puts its
//! credentials partition: the record format's active slot, or the JSON
//! file of the FAT format. A pooled station reads a card before it leases
//! anything for it, so a card that holds an identity the pool has as
//! `verified` is never written over (issue #22, point 3). Anything that
//! does not decode is "no identity": a blank or foreign card.

use burnline_core::credentials::payload::Credentials;
use burnline_core::credentials::record::Slots;
use burnline_core::record_magic::MAGIC;
use burnline_image::layout::Layout;
use burnline_image::recipe::{CredentialsFormat, Recipe};
use burnline_io::window::Window;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;

/// The (ProductKey, DeviceName) the card in `file` holds, where `recipe`
/// and `layout` put the credentials, if it holds one.
pub fn identity_on(file: &File, recipe: &Recipe, layout: &Layout) -> Option<(String, String)> {
    let (index, spec) = recipe.credentials()?;
    let part = layout.partitions.get(index)?;
    let json = match &spec.format {
        CredentialsFormat::Record => {
            let mut magic = [0u8; 8];
            let at = |off: u64, m: &mut [u8; 8]| {
                file.read_exact_at(m, part.start + off).is_ok() && m == MAGIC
            };
            if !at(0, &mut magic) && !at(part.size / 2, &mut magic) {
                return None;
            }
            let slots = Slots::read_from(
                |buf, at| file.read_exact_at(buf, part.start + at),
                part.size,
            )
            .ok()?;
            let (_, slot) = slots.active()?;
            zeroize::Zeroizing::new(slot.payload.clone())
        }
        CredentialsFormat::Fat { path, .. } => {
            let mut w = Window::new(file, part.start, part.size);
            let fs = fatfs::FileSystem::new(&mut w, fatfs::FsOptions::new()).ok()?;
            let mut f = fs.root_dir().open_file(path).ok()?;
            let mut bytes = zeroize::Zeroizing::new(Vec::new());
            f.read_to_end(&mut bytes).ok()?;
            bytes
        }
    };
    let creds = Credentials::from_json(&json).ok()?;
    Some((creds.product_key.clone(), creds.device_name.clone()))
}
