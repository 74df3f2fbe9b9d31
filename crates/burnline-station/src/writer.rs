//! What the service asks of the thing that burns a card: lease the next
//! identity, write it to the target, read it back, mark it verified; and
//! how many identities are left. The pool's station
//! ([`PooledStation`]) is the one implementation; the trait keeps the slot
//! logic independent of the database.

pub use burnline_flash::pooled::Phase;
use burnline_flash::pooled::PooledStation;
use burnline_image::error::Result;
use std::path::Path;
use std::sync::Arc;

/// A card written, verified and marked verified in the pool.
#[derive(Debug, Clone)]
pub struct Flashed {
    /// The identity's DeviceName.
    pub device_name: String,
    /// Its ProductKey.
    pub product_key: String,
    /// The written image's digest (hex).
    pub digest: String,
    /// The card's physical identity, as recorded in the lease.
    pub card: String,
    /// The card already held it, verified in the pool: nothing was written.
    pub already: bool,
}

/// Progress: bytes done, bytes in all, and the phase.
pub type Progress<'a> = &'a (dyn Fn(u64, u64, Phase) + Sync);

/// Burns identities onto cards.
pub trait CardWriter: Send + Sync {
    /// Leases the next identity and writes, verifies and records it on
    /// `target`; a card the pool has as verified on this very medium is
    /// read instead, and is done (nothing written) if it holds that
    /// identity. An error after the lease leaves the identity as the pool's
    /// rules say (quarantined).
    fn flash_card(&self, target: &Path, progress: Progress<'_>) -> Result<Flashed>;
    /// Identities left to lease.
    fn remaining(&self) -> Result<u64>;
}

/// Opens the writer (connects to the pool); called again while it fails.
pub type Opener = Box<dyn Fn() -> Result<Arc<dyn CardWriter>> + Send + Sync>;

impl CardWriter for PooledStation {
    fn flash_card(&self, target: &Path, progress: Progress<'_>) -> Result<Flashed> {
        let done = PooledStation::flash_card(self, target, progress)?;
        Ok(Flashed {
            device_name: done.device_name,
            product_key: done.product_key,
            digest: done.digest,
            card: done.card.describe(),
            already: done.already,
        })
    }

    fn remaining(&self) -> Result<u64> {
        PooledStation::remaining(self)
    }
}
