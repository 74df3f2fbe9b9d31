//! The pooled programmer station: `flash --pool URL --recipe R --station
//! NAME --target …`. Identities come from the shared pool
//! (`burnline_pool`) instead of a CSV and a local ledger, so any number of
//! stations on a line burn each identity onto exactly one card.
//!
//! [`PooledStation::open`] opens the pool (checking its schema and key),
//! claims the station name (one live process per name), settles the leases
//! its previous process left (read back from their cards: an identity goes
//! back to the pool only when the card read is provably the medium written,
//! by its `diskseq`, CID or a file's device and inode
//! ([`CardIdentity::same_medium`]), and none of its bytes are on it; any
//! other is quarantined, with the reason) and builds the base image once,
//! hashed once for every card ([`CheckedBase`]).
//! [`PooledStation::flash_card`] then, per card, from any number of
//! threads at once:
//!
//! 1. opens the target (too small, write-protected: refused, no lease);
//!    a card the pool has as `verified` on this very medium is read: if
//!    it holds that identity it is done and nothing is written, if not it
//!    is refused; it is never written again; nor is a card that holds
//!    ([`on_card`]) an identity the pool has as verified elsewhere;
//! 2. leases the next identity of the kind the recipe burns (with a
//!    DeviceSecret or not), recording station, target and card before
//!    the first byte is written (with `register: host`, the device is
//!    registered inside that transaction and its issued secret stored,
//!    encrypted, with the lease);
//! 3. writes the base with the identity's patches (reading only the base's
//!    data, which must hash as it did at open), records `written` with the
//!    image's digest (`blake3:…` through the base's tree, or `sha256:…`);
//! 4. reads everything back, records `verified`.
//!
//! Every write to the card first asks whether the station still holds its
//! name (`Pool::check_claim`): one whose claim is lost stops before the
//! next byte, and the pool refuses its later steps.
//!
//! A failed write or read-back quarantines the identity. A registration
//! refused for the whole product (dynamic registration off, a wrong
//! ProductSecret) stops the station: no identity is quarantined for it and
//! no card is started after it. The crash points
//! `pool-after-lease`, `-after-written`, `-after-verified` follow each
//! durable step.

use super::card_identity::CardIdentity;
use super::checked_base::CheckedBase;
use super::on_card;
use super::source::Source;
use super::target::{self, Target};
use super::write::{self, Expect};
use burnline_image::base::{self, Base};
use burnline_image::device_csv::reader::DeviceRow;
use burnline_image::error::{CardFailure, Error, IoContext, Result};
use burnline_image::job::device_job::DeviceBuilder;
use burnline_image::layout::Layout;
use burnline_image::recipe::{AuthMode, Recipe};
use burnline_image::registration::host::{product_refusal, DirectRegistrar, HostRegistrar};
use burnline_io::hash::DigestKind;
use burnline_io::say;
use burnline_pool::pool::{RegisterFailed, Stale};
use burnline_pool::{Kind, Lease, LeaseRequest, Pool, PoolError, PoolUrl, State};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What a pooled station needs.
#[derive(Debug, Clone)]
pub struct PooledOptions {
    /// The recipe the cards are built from.
    pub recipe: PathBuf,
    /// The pool.
    pub pool: PoolUrl,
    /// The pool's key file (mode 0600).
    pub key_file: PathBuf,
    /// This station's name, unique among live stations.
    pub station: String,
    /// Where the base image is built.
    pub work_dir: PathBuf,
    /// With `register: host`: extra CA certificates (PEM).
    pub ca_file: Option<PathBuf>,
    /// The digest each card's image is recorded with (`blake3:…` by
    /// default, `sha256:…` with `--digest sha256`).
    pub digest: DigestKind,
}

/// Which pass over the card a progress report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Writing the image.
    Writing,
    /// Reading it back.
    Verifying,
}

/// A card flashed and verified.
#[derive(Debug, Clone)]
pub struct CardOutcome {
    /// The identity's DeviceName.
    pub device_name: String,
    /// Its ProductKey.
    pub product_key: String,
    /// The image's digest, `blake3:…` (or `sha256:…`).
    pub digest: String,
    /// The card it is on.
    pub card: CardIdentity,
    /// The card already held it, verified: nothing was written.
    pub already: bool,
}

/// An open pool, a claimed station name and a built base image.
pub struct PooledStation {
    pool: Pool,
    recipe: Recipe,
    layout: Layout,
    base: Base,
    src: Source,
    /// The base, hashed once for every card.
    checked: CheckedBase,
    digest: DigestKind,
    registrar: Option<DirectRegistrar>,
    work_dir: PathBuf,
    sysfs: PathBuf,
    dev: PathBuf,
    /// The kind of identity the recipe burns.
    kind: Kind,
    /// Why the station stopped (a refusal of the whole product), once it has.
    stopped: Mutex<Option<String>>,
}

impl PooledStation {
    /// Opens the pool, claims the station and builds the base image.
    pub fn open(opts: &PooledOptions) -> Result<PooledStation> {
        let recipe = burnline_image::recipe::load(&opts.recipe)?;
        let layout = burnline_image::layout::plan(&recipe)?;
        for w in recipe.warning_lines() {
            say!("{w}");
        }
        let mut pool = Pool::open(&opts.pool, Some(&opts.key_file))?;
        pool.claim_station(&opts.station)?;
        let registrar = DirectRegistrar::for_recipe(&recipe, opts.ca_file.as_deref())?;
        let kind = Kind::with_secret(matches!(recipe.auth.mode, AuthMode::DeviceSecret));
        let base = base::build(&recipe, &layout, &opts.work_dir)?;
        let src = Source::of_base(&base);
        let checked = CheckedBase::new(&src)?;
        let station = PooledStation {
            pool,
            recipe,
            layout,
            base,
            src,
            checked,
            digest: opts.digest,
            registrar,
            work_dir: opts.work_dir.clone(),
            sysfs: PathBuf::from("/sys"),
            dev: PathBuf::from("/dev"),
            kind,
            stopped: Mutex::new(None),
        };
        station.settle_stale()?;
        Ok(station)
    }

    /// Identities still available for this recipe's product; an error
    /// once the station's claim is lost (the service then opens the pool
    /// afresh, claiming the name again).
    pub fn remaining(&self) -> Result<u64> {
        self.pool.check_claim()?;
        Ok(self
            .pool
            .remaining(self.recipe.auth.product_key.as_deref(), Some(self.kind))?)
    }

    /// The image size a card needs.
    pub fn image_size(&self) -> u64 {
        self.base.len
    }

    fn builder(&self) -> Result<DeviceBuilder<'_>> {
        DeviceBuilder::new(
            &self.recipe,
            &self.layout,
            &self.base,
            self.work_dir.clone(),
            false,
            HostRegistrar::pass_through(),
        )
    }

    /// The patches `lease` puts on a card.
    fn patches(&self, lease: &Lease) -> Result<Vec<burnline_io::patch::Patch>> {
        let row = DeviceRow {
            line: 0,
            index: 0,
            device_name: lease.device_name.clone(),
            product_key: lease.product_key.clone(),
            device_secret: lease.device_secret.clone(),
        };
        let builder = self.builder()?;
        let job = builder.job_with(&row, lease.issued_secret.clone())?;
        Ok(job.patches)
    }

    /// Settles the leases this station's previous process left: each card
    /// is read back; one that provably does not hold the identity (provably
    /// the same medium, see [`CardIdentity::same_medium`], and not one byte
    /// of the identity's patches on it, counting only bytes that differ
    /// from zero and from the base) gives it back to the pool, any other
    /// quarantines it.
    fn settle_stale(&self) -> Result<()> {
        for stale in self.pool.stale_leases()? {
            let (absent, why) = self.proven_absent(&stale);
            let (pk, dn) = (&stale.lease.product_key, &stale.lease.device_name);
            let reason = if absent {
                format!("{pk}/{dn}: station restarted; card read back: {why}; back in the pool")
            } else {
                format!("{pk}/{dn}: station died with it {}; {why}", stale.state)
            };
            say!(
                "burnline: {pk}/{dn} was {} on {} when this station stopped: {}: {why}",
                stale.state,
                stale.target,
                if absent {
                    "back in the pool"
                } else {
                    "quarantined"
                }
            );
            self.pool.resolve_stale(&stale, absent, &reason)?;
        }
        Ok(())
    }

    fn proven_absent(&self, stale: &Stale) -> (bool, String) {
        let path = Path::new(&stale.target);
        let proof = match CardIdentity::of(path, &self.sysfs, &self.dev).same_medium(&stale.card) {
            Ok(p) => p,
            Err(why) => return (false, format!("{why}: the card written cannot be read")),
        };
        let patches = match self.patches(&stale.lease) {
            Ok(p) => p,
            Err(e) => return (false, format!("its image cannot be rebuilt: {e}")),
        };
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) => return (false, format!("the card cannot be read: {e}")),
        };
        // Evidence of the identity: a byte of one of its patches on the
        // card that is neither zero nor the base's byte there. Any such
        // byte, even one, keeps it off the pool (a half-written record
        // may hold part of a secret).
        let (mut card_buf, mut base_buf) = (Vec::new(), Vec::new());
        for p in &patches {
            card_buf.resize(p.bytes.len(), 0);
            base_buf.resize(p.bytes.len(), 0);
            if let Err(e) = file.read_exact_at(&mut card_buf, p.offset) {
                return (
                    false,
                    format!("the card cannot be read at {}: {e}", p.offset),
                );
            }
            if let Err(e) = self.base.file.read_exact_at(&mut base_buf, p.offset) {
                return (false, format!("the base cannot be read: {e}"));
            }
            let evidence = p
                .bytes
                .iter()
                .zip(&card_buf)
                .zip(&base_buf)
                .position(|((want, got), base)| got == want && *want != 0 && want != base);
            if let Some(at) = evidence {
                return (
                    false,
                    format!(
                        "the card holds its bytes (at byte {})",
                        p.offset + at as u64
                    ),
                );
            }
        }
        (
            true,
            format!("the same medium (by its {proof}), and none of its bytes are on it"),
        )
    }

    /// Whether `file` holds every byte of `lease`'s patches.
    fn holds(&self, file: &File, lease: &Lease) -> Result<bool> {
        // What is read may be a secret: wiped when dropped.
        let mut buf = zeroize::Zeroizing::new(Vec::new());
        for p in self.patches(lease)? {
            buf.resize(p.bytes.len(), 0);
            if file.read_exact_at(&mut buf, p.offset).is_err() || *buf != *p.bytes {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// A card the pool has as verified on this very medium is never written
    /// again: it is done if it holds that identity (`Some`), refused if
    /// not; nor is a card that holds an identity verified elsewhere.
    /// `None`: neither.
    fn finished_before(&self, t: &Target, card: &CardIdentity) -> Result<Option<CardOutcome>> {
        let Some(proof) = card.proof() else {
            return self.holds_a_verified_identity(t);
        };
        let on = self.pool.verified_on(&card.describe())?;
        for o in &on {
            if self.holds(&t.file, &o.lease)? {
                return Ok(Some(CardOutcome {
                    device_name: o.lease.device_name.clone(),
                    product_key: o.lease.product_key.clone(),
                    digest: o.digest.clone(),
                    card: card.clone(),
                    already: true,
                }));
            }
        }
        match on.first() {
            None => self.holds_a_verified_identity(t),
            Some(o) => Err(Error::Card {
                kind: CardFailure::WriteFailed,
                message: format!(
                    "target {}: the pool has {}/{} verified on this card (the same medium, by its {proof}), \
                     but the card no longer holds it; a finished card is not written again: nothing was written \
                     (take it out and put it in again to write it as a new card)",
                    t.path.display(),
                    o.lease.product_key,
                    o.lease.device_name
                ),
            }),
        }
    }

    /// A card that holds an identity the pool has as verified (on another
    /// medium record: a finished card taken out and put back is a new
    /// medium to the kernel) is refused: writing it would leave that
    /// identity on no card.
    fn holds_a_verified_identity(&self, t: &Target) -> Result<Option<CardOutcome>> {
        let Some((pk, dn)) = on_card::identity_on(&t.file, &self.recipe, &self.layout) else {
            return Ok(None);
        };
        match self.pool.state_of(&pk, &dn)? {
            Some((State::Verified, card)) => Err(Error::Card {
                kind: CardFailure::WriteFailed,
                message: format!(
                    "target {}: the card holds {pk}/{dn}, which the pool has as verified (on {}); \
                     a finished card is not written again: nothing was written (wipe it first if it is to be reused)",
                    t.path.display(),
                    card.as_deref().unwrap_or("a card")
                ),
            }),
            _ => Ok(None),
        }
    }

    /// Why the station stopped, if it has.
    fn stopped(&self) -> Option<String> {
        self.stopped
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Leases the next identity, writes `target`, reads it back, verifies,
    /// records each step. `progress(done_bytes, total_bytes, phase)` is
    /// called while writing and verifying.
    pub fn flash_card(
        &self,
        target: &Path,
        progress: &(dyn Fn(u64, u64, Phase) + Sync),
    ) -> Result<CardOutcome> {
        if let Some(why) = self.stopped() {
            return Err(Error::ProductRefused(format!(
                "{why}; target {}: nothing was written",
                target.display()
            )));
        }
        let existed = target.exists();
        let t = target::open(target, self.base.len)?;
        let card = CardIdentity::of(target, &self.sysfs, &self.dev);
        if let Some(done) = self.finished_before(&t, &card)? {
            return Ok(done);
        }
        let target_s = std::fs::canonicalize(target)
            .unwrap_or_else(|_| target.to_path_buf())
            .display()
            .to_string();
        let card_s = card.describe();
        let register = |pk: &str, dn: &str| self.register(pk, dn);
        let lease = match self.pool.lease::<Error>(
            &LeaseRequest {
                target: &target_s,
                card: &card_s,
                product_key: self.recipe.auth.product_key.as_deref(),
                kind: self.kind,
            },
            self.registrar
                .as_ref()
                .map(|_| &register as burnline_pool::pool::Register<'_, Error>),
        ) {
            Ok(l) => l,
            Err(e) => {
                // No lease, no byte: a file made by the open goes again.
                if !existed && !t.block {
                    let _ = std::fs::remove_file(target);
                }
                return Err(e);
            }
        };
        burnline_io::crash_point!("pool-after-lease");
        let expect = match self.expect(&lease) {
            Ok(e) => e,
            Err(e) => {
                // Nothing was written: the identity goes back.
                self.pool
                    .abandon(&lease, &format!("nothing written: {e}"))?;
                return Err(e);
            }
        };
        // Each write waits on the station's claim: one lost stops the
        // card before its next byte.
        let written = write::write_gated(
            &self.src,
            &expect,
            &t,
            &|d, n| progress(d, n, Phase::Writing),
            &|| self.pool.check_claim().map_err(Error::Pool),
        );
        let written = match written {
            Ok(w) => w,
            Err(e) => match self.pool.check_claim() {
                Err(lost) => return Err(unrecorded(lost, &lease, target)),
                Ok(()) => return Err(self.failed(&lease, &t, "writing", e)),
            },
        };
        let digest = format!(
            "{}:{}",
            self.digest.name(),
            hex::encode(written.image_digest)
        );
        self.pool
            .mark_written(&lease, &digest)
            .map_err(|e| unrecorded(e, &lease, target))?;
        burnline_io::crash_point!("pool-after-written");
        if let Err(e) = write::verify_with(&t, &written, &|d, n| progress(d, n, Phase::Verifying)) {
            return Err(self.failed(&lease, &t, "reading back", e));
        }
        self.pool
            .mark_verified(&lease, &digest)
            .map_err(|e| unrecorded(e, &lease, target))?;
        burnline_io::crash_point!("pool-after-verified");
        Ok(CardOutcome {
            device_name: lease.device_name.clone(),
            product_key: lease.product_key.clone(),
            digest,
            card,
            already: false,
        })
    }

    /// Registers a leased DeviceName (一型一密 on the host). A refusal of
    /// the whole product stops the station and sets nothing aside; a
    /// refusal of this device sets it aside (quarantined), and the line
    /// goes on; no answer leaves it in the pool.
    fn register(
        &self,
        pk: &str,
        dn: &str,
    ) -> std::result::Result<burnline_core::secret::Secret, RegisterFailed<Error>> {
        let r = self.registrar.as_ref().ok_or_else(|| RegisterFailed {
            error: Error::Usage("no registrar".into()),
            set_aside: false,
        })?;
        r.register(pk, dn).map_err(|error| {
            if let Some(code) = product_refusal(&error) {
                // The platform said no to the product, not to this
                // device: nothing is set aside, and the station stops.
                let why = format!(
                    "the platform refused the whole product {pk} (code {code}), not one device: {error}; \
                     the station stops, no identity was quarantined ({pk}/{dn} stays available)"
                );
                *self.stopped.lock().unwrap_or_else(|p| p.into_inner()) = Some(why.clone());
                return RegisterFailed {
                    error: Error::ProductRefused(why),
                    set_aside: false,
                };
            }
            match error {
                // The platform said no to this device: set it aside,
                // the line goes on.
                Error::Registration(
                    burnline_core::registration::error::RegisterError::Refused { .. },
                ) => RegisterFailed {
                    error: Error::Card {
                        kind: CardFailure::WriteFailed,
                        message: format!(
                            "{pk}/{dn}: {error}; {pk}/{dn} is quarantined, the next card gets the next identity; nothing was written"
                        ),
                    },
                    set_aside: true,
                },
                // No answer: it stays in the pool.
                error => RegisterFailed {
                    error,
                    set_aside: false,
                },
            }
        })
    }

    fn expect(&self, lease: &Lease) -> Result<Expect> {
        let patches = self.patches(lease)?;
        self.checked
            .expect(patches, self.digest)
            .at("hashing", &self.base.path)
    }

    /// A write or read-back failed: the identity is quarantined.
    fn failed(&self, lease: &Lease, t: &Target, doing: &str, e: Error) -> Error {
        let why = format!("{doing} {} failed: {e}", t.path.display());
        if let Err(pe) = self.pool.quarantine(lease, &why) {
            return match pe {
                PoolError::Lost { .. } | PoolError::Unreachable { .. } => Error::Pool(pe),
                other => Error::Pool(PoolError::Other(format!(
                    "{why}; and quarantining {} failed: {other}",
                    lease.device_name
                ))),
            };
        }
        Error::Card {
            kind: CardFailure::WriteFailed,
            message: format!(
                "{why}; {}/{} is quarantined, do not use this card",
                lease.product_key, lease.device_name
            ),
        }
    }
}

/// A step the database did not take after the card was written: the lost
/// database's error also says which card holds what.
fn unrecorded(e: PoolError, lease: &Lease, target: &Path) -> Error {
    match e {
        PoolError::Lost { url, why } => Error::Pool(PoolError::Lost {
            url,
            why: format!(
                "{why}; {} holds {}/{}, leased to it; this station settles it when it starts again",
                target.display(),
                lease.product_key,
                lease.device_name
            ),
        }),
        PoolError::ClaimLost { station, why } => Error::Pool(PoolError::ClaimLost {
            station,
            why: format!(
                "{why}; {} may hold part of {}/{}, still leased to this station: do not use it; the process that takes the name next settles it",
                target.display(),
                lease.product_key,
                lease.device_name
            ),
        }),
        other => Error::Pool(other),
    }
}

#[cfg(test)]
mod tests {
    /// Slot threads share one station: it must be `Send + Sync`.
    #[test]
    fn a_station_is_shared_by_slot_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<super::PooledStation>();
        shared::<super::CardOutcome>();
    }
}
