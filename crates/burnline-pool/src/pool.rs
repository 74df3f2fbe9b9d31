//! The pool: one database connection (behind a mutex, so one `Pool` serves
//! every slot thread of a station), the key, and the station's claim. Every
//! change of an identity's state is one transaction that also appends its
//! `history` row, and every transition is guarded by the state it comes
//! from and the lease's token, so a step is never applied twice or to a
//! lease that is no longer this station's; a station's steps also check
//! its claim on its name (`crate::station::fence`), so one that lost it
//! records nothing more.

use crate::db::{Db, Row, Tx, Val};
use crate::error::{PoolError, Result};
use crate::key::{PoolKey, SecretKind};
use crate::kind::Kind;
use crate::schema::{LATEST, META, MIGRATIONS};
use crate::state::State;
use crate::station;
use crate::url::PoolUrl;
use burnline_core::secret::Secret;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

pub mod settle;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Registers one device (ProductKey, DeviceName) with the platform and
/// gives the secret it issued: called inside the lease's transaction.
pub type Register<'a, E> =
    &'a (dyn Fn(&str, &str) -> std::result::Result<Secret, RegisterFailed<E>> + Sync);

/// A registration that failed.
#[derive(Debug)]
pub struct RegisterFailed<E> {
    /// Why.
    pub error: E,
    /// The platform refused this device: it is quarantined (with the
    /// error as reason) so the line goes on with the next one. Otherwise
    /// (no answer) it stays available.
    pub set_aside: bool,
}

/// An open pool.
pub struct Pool {
    url: PoolUrl,
    db: Mutex<Db>,
    key: Option<PoolKey>,
    station: Option<station::Claim>,
}

/// What `pool init` did.
#[derive(Debug)]
pub struct InitReport {
    /// The schema version before.
    pub from: i64,
    /// After.
    pub to: i64,
    /// Whether a new key file was made.
    pub key_created: bool,
    /// The key's fingerprint.
    pub key_fingerprint: String,
}

/// One identity to import.
#[derive(Debug)]
pub struct NewIdentity {
    /// ProductKey.
    pub product_key: String,
    /// DeviceName.
    pub device_name: String,
    /// DeviceSecret (一机一密), if the CSV has one.
    pub device_secret: Option<Secret>,
}

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportReport {
    /// Rows added.
    pub added: u64,
    /// Rows already in the pool with the same secret.
    pub already: u64,
}

/// A lease: an identity given to one card.
#[derive(Debug)]
pub struct Lease {
    /// The row id.
    pub id: i64,
    /// ProductKey.
    pub product_key: String,
    /// DeviceName.
    pub device_name: String,
    /// The imported DeviceSecret, decrypted.
    pub device_secret: Option<Secret>,
    /// The secret issued at registration, decrypted.
    pub issued_secret: Option<Secret>,
    /// Guards every later step of this lease.
    pub token: String,
}

/// Where a lease goes.
#[derive(Debug, Clone)]
pub struct LeaseRequest<'a> {
    /// The card's path.
    pub target: &'a str,
    /// The card's physical identity, as text.
    pub card: &'a str,
    /// Only identities of this ProductKey (the recipe's), if given.
    pub product_key: Option<&'a str>,
    /// Only identities of this kind: what the recipe's mode burns.
    pub kind: Kind,
}

/// An identity the pool has as verified on a card.
#[derive(Debug)]
pub struct OnCard {
    /// The lease that put it there (its token is spent).
    pub lease: Lease,
    /// The image's digest recorded when it was verified.
    pub digest: String,
}

/// A lease this station held when it last died.
#[derive(Debug)]
pub struct Stale {
    /// The row.
    pub lease: Lease,
    /// `leased` or `written`.
    pub state: State,
    /// Its target.
    pub target: String,
    /// Its card.
    pub card: String,
}

/// Counts for `pool status`.
#[derive(Debug, Default)]
pub struct Status {
    /// Identities per state (every state listed).
    pub states: BTreeMap<State, u64>,
    /// Per station, identities per state.
    pub stations: BTreeMap<String, BTreeMap<State, u64>>,
    /// Known stations: name, live, host, pid, last seen (ms).
    pub known: Vec<StationInfo>,
    /// History rows.
    pub history: u64,
}

/// A station the pool has seen.
#[derive(Debug)]
pub struct StationInfo {
    /// Its name.
    pub name: String,
    /// Whether a live process holds it now.
    pub live: bool,
    /// Host it ran on.
    pub host: String,
    /// Its last process id.
    pub pid: i64,
    /// When it last started (ms).
    pub seen_at: i64,
}

/// One identity, for `pool export`.
#[derive(Debug)]
pub struct Exported {
    /// ProductKey.
    pub product_key: String,
    /// DeviceName.
    pub device_name: String,
    /// Its state.
    pub state: State,
    /// Station, target, card of its last lease.
    pub station: Option<String>,
    /// Target path.
    pub target: Option<String>,
    /// The card's physical identity.
    pub card: Option<String>,
    /// The written image's digest (`sha256:…`).
    pub digest: Option<String>,
    /// Why it is where it is (quarantine, release).
    pub reason: Option<String>,
    /// Times (ms since the epoch).
    pub imported_at: i64,
    /// Leased.
    pub leased_at: Option<i64>,
    /// Written.
    pub written_at: Option<i64>,
    /// Verified.
    pub verified_at: Option<i64>,
    /// The DeviceSecret, only when revealing.
    pub device_secret: Option<Secret>,
    /// The issued DeviceSecret, only when revealing.
    pub issued_secret: Option<Secret>,
}

/// One history row.
#[derive(Debug, Clone)]
pub struct HistoryRow {
    /// Order.
    pub seq: i64,
    /// When (ms since the epoch).
    pub time: i64,
    /// ProductKey.
    pub product_key: String,
    /// DeviceName.
    pub device_name: String,
    /// From (none: imported).
    pub from: Option<State>,
    /// To.
    pub to: State,
    /// Station.
    pub station: Option<String>,
    /// Target.
    pub target: Option<String>,
    /// Card.
    pub card: Option<String>,
    /// Why.
    pub reason: String,
}

/// An identity's recorded image digest (`sha256:…`), kept from when its
/// card was written or verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageDigest {
    /// ProductKey.
    pub product_key: String,
    /// DeviceName.
    pub device_name: String,
    /// The digest.
    pub digest: String,
}

fn text(r: &Row, i: usize) -> Option<String> {
    r.get(i).and_then(Val::text)
}
fn int(r: &Row, i: usize) -> Option<i64> {
    r.get(i).and_then(Val::int)
}
fn state_of(r: &Row, i: usize) -> Result<State> {
    let s = text(r, i).unwrap_or_default();
    State::parse(&s).ok_or_else(|| PoolError::Damaged(format!("unknown state `{s}` in the pool")))
}

/// The lease a row's first five columns give (`id, product_key,
/// device_name, device_secret, issued_secret`), its secrets decrypted.
fn lease_of(key: &PoolKey, r: &Row, token: String) -> Result<Lease> {
    let pk = text(r, 1).unwrap_or_default();
    let dn = text(r, 2).unwrap_or_default();
    Ok(Lease {
        id: int(r, 0).unwrap_or(0),
        device_secret: text(r, 3)
            .map(|s| key.decrypt(SecretKind::Device, &pk, &dn, &s))
            .transpose()?,
        issued_secret: text(r, 4)
            .map(|s| key.decrypt(SecretKind::Issued, &pk, &dn, &s))
            .transpose()?,
        token,
        product_key: pk,
        device_name: dn,
    })
}

fn token() -> Result<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| PoolError::Other(format!("random: {e}")))?;
    Ok(hex::encode(b))
}

/// Appends a history row, chained to the identity's previous one
/// (`crate::chain`).
#[allow(clippy::too_many_arguments)]
fn history(
    tx: &mut Tx<'_>,
    url: &PoolUrl,
    pk: &str,
    dn: &str,
    from: Option<State>,
    to: State,
    station: Option<&str>,
    target: Option<&str>,
    card: Option<&str>,
    reason: &str,
) -> Result<()> {
    crate::chain::append(
        tx,
        url,
        &crate::chain::Fields {
            time: now_ms(),
            product_key: pk,
            device_name: dn,
            from: from.map(State::as_str),
            to: to.as_str(),
            station,
            target,
            card,
            reason,
        },
    )
}

fn schema_version(db: &mut Db, url: &PoolUrl) -> Result<Option<i64>> {
    let rows = match db.query(
        url,
        "SELECT value FROM burnline_meta WHERE key = 'schema_version'",
        &[],
    ) {
        Ok(r) => r,
        Err(PoolError::Other(m)) if m.contains("burnline_meta") => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(rows.first().and_then(|r| int(r, 0)))
}

impl Pool {
    /// Creates or migrates the pool at `url`, and makes the key file if it
    /// does not exist (else checks it against the pool). A missing
    /// directory (the pool's, or a new key file's) is refused before
    /// anything is made, and an SQLite file this call made is removed
    /// again (with its journal) when the init fails: nothing half-made
    /// stays under the pool's name.
    pub fn init(url: &PoolUrl, key_path: &Path) -> Result<InitReport> {
        if !key_path.exists() {
            if let Some(dir) = crate::db::missing_dir(key_path) {
                return Err(PoolError::NoDir {
                    what: format!("key file {}", key_path.display()),
                    dir: dir.display().to_string(),
                });
            }
        }
        let fresh = match url {
            PoolUrl::Sqlite(p) if std::fs::symlink_metadata(p).is_err() => Some(p.clone()),
            _ => None,
        };
        let made = Self::init_in(url, key_path);
        if let (Err(_), Some(p)) = (&made, fresh) {
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let mut name = p.clone().into_os_string();
                name.push(suffix);
                let _ = std::fs::remove_file(name);
            }
        }
        made
    }

    /// [`Pool::init`], once its directories are known to exist.
    fn init_in(url: &PoolUrl, key_path: &Path) -> Result<InitReport> {
        let mut db = Db::connect(url, true)?;
        let key_created = !key_path.exists();
        let key = if key_created {
            None
        } else {
            Some(PoolKey::load(key_path)?)
        };
        let pg = db.is_pg();
        // The key check is read before the key file is made, so a wrong
        // key file is refused and a missing one is made only for a pool
        // that has none yet.
        let (from, key) = db.tx(url, |tx| {
            if pg {
                tx.exec(url, "SELECT pg_advisory_xact_lock(7345201)", &[])?;
            }
            tx.batch(url, META)?;
            let from = tx
                .query(
                    url,
                    "SELECT value FROM burnline_meta WHERE key = 'schema_version'",
                    &[],
                )?
                .first()
                .and_then(|r| int(r, 0))
                .unwrap_or(0);
            if from > LATEST {
                return Err(PoolError::SchemaNewer {
                    url: url.to_string(),
                    found: from,
                    known: LATEST,
                });
            }
            let check = tx
                .query(
                    url,
                    "SELECT value FROM burnline_meta WHERE key = 'key_check'",
                    &[],
                )?
                .first()
                .and_then(|r| text(r, 0));
            let key = match (key.as_ref(), &check) {
                (Some(k), Some(c)) => {
                    check_key(tx, url, k, c)?;
                    None
                }
                (None, Some(_)) => {
                    return Err(PoolError::KeyFile(format!(
                        "key file {}: missing, and this pool already has a key: give the pool's key file",
                        key_path.display()
                    )))
                }
                (k, None) => {
                    let k = match k {
                        Some(_) => None,
                        None => Some(PoolKey::create(key_path)?),
                    };
                    let kk = k.as_ref().or(key.as_ref()).ok_or_else(|| {
                        PoolError::Other("no key".into())
                    })?;
                    tx.exec(
                        url,
                        "INSERT INTO burnline_meta (key, value) VALUES ('key_check', $1), ('key_fingerprint', $2)",
                        &[kk.check_value()?.into(), kk.fingerprint().into()],
                    )?;
                    k
                }
            };
            for m in MIGRATIONS.iter().filter(|m| m.version > from) {
                tx.batch(url, if pg { m.postgres } else { m.sqlite })?;
            }
            if (1..2).contains(&from) {
                crate::chain::chain_existing(tx, url, pg)?;
            }
            tx.exec(
                url,
                "DELETE FROM burnline_meta WHERE key = 'schema_version'",
                &[],
            )?;
            tx.exec(
                url,
                "INSERT INTO burnline_meta (key, value) VALUES ('schema_version', $1)",
                &[LATEST.to_string().into()],
            )?;
            Ok((from, key))
        })?;
        let key = match key {
            Some(k) => k,
            None => PoolKey::load(key_path)?,
        };
        Ok(InitReport {
            from,
            to: LATEST,
            key_created,
            key_fingerprint: key.fingerprint().to_owned(),
        })
    }

    /// Opens the pool at `url`, refusing one of another schema version,
    /// and, with a key file, checks that the key is the pool's.
    pub fn open(url: &PoolUrl, key_path: Option<&Path>) -> Result<Pool> {
        let mut db = Db::connect(url, false)?;
        let version = schema_version(&mut db, url)?.ok_or_else(|| PoolError::NotAPool {
            url: url.to_string(),
        })?;
        if version > LATEST {
            return Err(PoolError::SchemaNewer {
                url: url.to_string(),
                found: version,
                known: LATEST,
            });
        }
        if version < LATEST {
            return Err(PoolError::SchemaOlder {
                url: url.to_string(),
                found: version,
                known: LATEST,
            });
        }
        let key = match key_path {
            Some(p) => {
                let k = PoolKey::load(p)?;
                let rows = db.query(
                    url,
                    "SELECT key, value FROM burnline_meta WHERE key IN ('key_check', 'key_fingerprint') ORDER BY key",
                    &[],
                )?;
                let get = |name: &str| {
                    rows.iter()
                        .find(|r| text(r, 0).as_deref() == Some(name))
                        .and_then(|r| text(r, 1))
                        .unwrap_or_default()
                };
                if !k.matches(&get("key_check")) {
                    return Err(PoolError::WrongKey {
                        path: p.display().to_string(),
                        found: k.fingerprint().to_owned(),
                        expected: get("key_fingerprint"),
                    });
                }
                Some(k)
            }
            None => None,
        };
        Ok(Pool {
            url: url.clone(),
            db: Mutex::new(db),
            key,
            station: None,
        })
    }

    fn lock(&self) -> Result<MutexGuard<'_, Db>> {
        self.db
            .lock()
            .map_err(|_| PoolError::Other("the pool connection's lock is poisoned".into()))
    }

    fn key(&self) -> Result<&PoolKey> {
        self.key
            .as_ref()
            .ok_or_else(|| PoolError::KeyFile("this needs the pool's key file (--key-file)".into()))
    }

    fn station(&self) -> Result<&str> {
        self.claim().map(station::Claim::name)
    }

    fn claim(&self) -> Result<&station::Claim> {
        self.station
            .as_ref()
            .ok_or_else(|| PoolError::Other("no station claimed".into()))
    }

    /// Whether this station may still write a card: [`PoolError::ClaimLost`]
    /// once its claim on its name is lost, or could have run out (see
    /// [`crate::station`]). Asked before every write to a card.
    pub fn check_claim(&self) -> Result<()> {
        self.claim()?.check()
    }

    /// Runs `f` in one transaction.
    fn tx<T, E: From<PoolError>>(
        &self,
        f: impl FnOnce(&mut Tx<'_>, &PoolUrl) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let url = &self.url;
        let mut db = self.lock()?;
        let mut out = None;
        let mut err = None;
        db.tx(url, |tx| {
            match f(tx, url) {
                Ok(v) => out = Some(v),
                Err(e) => {
                    err = Some(e);
                    // Roll back: an error return drops the transaction.
                    return Err(PoolError::Other(String::new()));
                }
            }
            Ok(())
        })
        .or_else(|e| if err.is_some() { Ok(()) } else { Err(e) })?;
        match (out, err) {
            (Some(v), None) => Ok(v),
            (_, Some(e)) => Err(e),
            (None, None) => Err(PoolError::Other("transaction gave nothing".into()).into()),
        }
    }

    /// Adds identities of `kind` (the recipe's mode); those already there
    /// with the same secret are counted, not added. Any row already there
    /// with another secret refuses the whole import (nothing is added):
    /// its indexes in `rows`. A row whose secret does not fit `kind`, or a
    /// product the pool already holds identities of the other kind of,
    /// refuses it too ([`PoolError::State`]): one product's identities are
    /// all of one kind.
    pub fn import(&self, rows: &[NewIdentity], kind: Kind) -> Result<ImportReport> {
        let key = self.key()?;
        if let Some(r) = rows
            .iter()
            .find(|r| Kind::with_secret(r.device_secret.is_some()) != kind)
        {
            return Err(PoolError::State(format!(
                "{}/{}: is {}, but the recipe's auth.mode is {kind}; nothing was imported",
                r.product_key,
                r.device_name,
                Kind::with_secret(r.device_secret.is_some())
            )));
        }
        self.tx(|tx, url| {
            let mut report = ImportReport::default();
            let mut conflicts = Vec::new();
            let now = now_ms();
            let products: std::collections::BTreeSet<&str> =
                rows.iter().map(|r| r.product_key.as_str()).collect();
            for pk in products {
                let other = tx.query(
                    url,
                    "SELECT device_name, kind FROM identities WHERE product_key = $1 AND kind <> $2 ORDER BY id LIMIT 1",
                    &[pk.into(), kind.as_str().into()],
                )?;
                if let Some(o) = other.first() {
                    return Err(PoolError::State(format!(
                        "{pk}: the pool already holds {pk}/{} as {}, and this import is {kind} (the recipe's auth.mode): \
                         one product's identities are all of one kind; nothing was imported",
                        text(o, 0).unwrap_or_default(),
                        text(o, 1).unwrap_or_default()
                    )));
                }
            }
            for (i, r) in rows.iter().enumerate() {
                let have = tx.query(
                    url,
                    "SELECT device_secret FROM identities WHERE product_key = $1 AND device_name = $2",
                    &[r.product_key.as_str().into(), r.device_name.as_str().into()],
                )?;
                if let Some(row) = have.first() {
                    let stored = text(row, 0)
                        .map(|s| key.decrypt(SecretKind::Device, &r.product_key, &r.device_name, &s))
                        .transpose()?;
                    if stored == r.device_secret {
                        report.already += 1;
                    } else {
                        conflicts.push(i);
                    }
                    continue;
                }
                let sealed = r
                    .device_secret
                    .as_ref()
                    .map(|s| key.encrypt(SecretKind::Device, &r.product_key, &r.device_name, s))
                    .transpose()?;
                tx.exec(
                    url,
                    "INSERT INTO identities (product_key, device_name, device_secret, state, imported_at, changed_at, kind) \
                     VALUES ($1, $2, $3, 'available', $4, $4, $5)",
                    &[
                        r.product_key.as_str().into(),
                        r.device_name.as_str().into(),
                        sealed.into(),
                        now.into(),
                        kind.as_str().into(),
                    ],
                )?;
                history(
                    tx,
                    url,
                    &r.product_key,
                    &r.device_name,
                    None,
                    State::Available,
                    None,
                    None,
                    None,
                    "imported",
                )?;
                report.added += 1;
            }
            if conflicts.is_empty() {
                Ok(report)
            } else {
                Err(PoolError::Conflicts(conflicts))
            }
        })
    }

    /// Claims the station name `name` for this process (see
    /// [`crate::station`]): [`PoolError::StationInUse`] while a live
    /// process holds it.
    pub fn claim_station(&mut self, name: &str) -> Result<()> {
        station::check_name(name)?;
        let holder = station::Holder::me();
        let token = token()?;
        let sent = std::time::Instant::now();
        self.tx(|tx, url| station::take(tx, url, name, &holder, &token))?;
        self.station = Some(station::Claim::hold(&self.url, name, &token, sent));
        Ok(())
    }

    /// Identities still available (of `product_key`, if given, and of
    /// `kind`, if given).
    pub fn remaining(&self, product_key: Option<&str>, kind: Option<Kind>) -> Result<u64> {
        let mut db = self.lock()?;
        let rows = db.query(
            &self.url,
            "SELECT count(*) FROM identities WHERE state = 'available' AND (CAST($1 AS TEXT) IS NULL OR product_key = $1) \
             AND (CAST($2 AS TEXT) IS NULL OR kind = $2)",
            &[product_key.into(), kind.map(Kind::as_str).into()],
        )?;
        Ok(rows.first().and_then(|r| int(r, 0)).unwrap_or(0) as u64)
    }

    /// Leases the next available identity of `req`'s kind to `req`'s card,
    /// for this station. The row's history chain must give its state
    /// (`available`), checked in the lease's transaction: a row whose
    /// state was set outside burnline is refused ([`PoolError::Damaged`],
    /// naming it) and nothing is leased. With `register`, an identity with
    /// no issued secret yet is
    /// registered first, inside the lease's transaction, and the secret it
    /// gets is stored (encrypted) in that same transaction; one the platform
    /// refuses is quarantined in it. [`PoolError::Empty`] when none is left.
    ///
    /// Over 100 lines on purpose: it is one transaction, and its steps
    /// (fence the claim, pick a row, check its chain, register, fence
    /// again, update, append history) share that transaction and the row
    /// and must run in this order; it reads top to bottom as the protocol.
    pub fn lease<E: From<PoolError> + std::fmt::Display>(
        &self,
        req: &LeaseRequest<'_>,
        register: Option<Register<'_, E>>,
    ) -> std::result::Result<Lease, E> {
        let key = self.key()?;
        let station = self.station()?.to_owned();
        let claim = self.claim()?.token().to_owned();
        let pg = matches!(self.url, PoolUrl::Postgres(_));
        self.tx(|tx, url| {
            station::fence(tx, url, &station, &claim, false)?;
            let sql = if pg {
                "SELECT id, product_key, device_name, device_secret, issued_secret FROM identities \
                 WHERE state = 'available' AND kind = $2 AND ($1::text IS NULL OR product_key = $1) \
                 ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"
            } else {
                "SELECT id, product_key, device_name, device_secret, issued_secret FROM identities \
                 WHERE state = 'available' AND kind = $2 AND ($1 IS NULL OR product_key = $1) ORDER BY id LIMIT 1"
            };
            let rows = tx.query(url, sql, &[req.product_key.into(), req.kind.as_str().into()])?;
            let row = rows.first().ok_or(PoolError::Empty)?;
            let id = int(row, 0).unwrap_or(0);
            let pk = text(row, 1).unwrap_or_default();
            let dn = text(row, 2).unwrap_or_default();
            if let Some(b) = crate::chain::check_identity(tx, url, &pk, &dn)? {
                return Err(PoolError::Damaged(format!(
                    "{pk}/{dn}: not leased: the pool says it is available, but its history does not: {b}; \
                     nothing was written (run `burnline pool verify`, and set the row right before the line goes on)"
                ))
                .into());
            }
            let device_secret = text(row, 3)
                .map(|s| key.decrypt(SecretKind::Device, &pk, &dn, &s))
                .transpose()?;
            let mut issued_secret = text(row, 4)
                .map(|s| key.decrypt(SecretKind::Issued, &pk, &dn, &s))
                .transpose()?;
            let mut sealed_issued: Option<String> = None;
            if let (Some(register), None) = (register, &issued_secret) {
                let s = match register(&pk, &dn) {
                    Ok(s) => s,
                    Err(f) if f.set_aside => {
                        station::fence(tx, url, &station, &claim, true)?;
                        let why = format!("registration refused: {}", f.error);
                        tx.exec(
                            url,
                            "UPDATE identities SET state = 'quarantined', station = $1, reason = $2, changed_at = $3 WHERE id = $4",
                            &[station.as_str().into(), why.as_str().into(), now_ms().into(), id.into()],
                        )?;
                        history(
                            tx,
                            url,
                            &pk,
                            &dn,
                            Some(State::Available),
                            State::Quarantined,
                            Some(&station),
                            Some(req.target),
                            Some(req.card),
                            &why,
                        )?;
                        return Ok(Err(f.error));
                    }
                    Err(f) => return Err(f.error),
                };
                sealed_issued = Some(key.encrypt(SecretKind::Issued, &pk, &dn, &s)?);
                issued_secret = Some(s);
            }
            station::fence(tx, url, &station, &claim, true)?;
            let token = token()?;
            let now = now_ms();
            let n = tx.exec(
                url,
                "UPDATE identities SET state = 'leased', station = $1, target = $2, card = $3, \
                 lease_token = $4, leased_at = $5, changed_at = $5, written_at = NULL, verified_at = NULL, \
                 digest = NULL, reason = NULL, issued_secret = COALESCE($6, issued_secret) \
                 WHERE id = $7 AND state = 'available'",
                &[
                    station.as_str().into(),
                    req.target.into(),
                    req.card.into(),
                    token.as_str().into(),
                    now.into(),
                    sealed_issued.clone().into(),
                    id.into(),
                ],
            )?;
            if n != 1 {
                return Err(PoolError::Other(format!("{pk}/{dn}: lost the lease race")).into());
            }
            let reason = if sealed_issued.is_some() {
                "leased; registered, issued secret stored"
            } else {
                "leased"
            };
            history(
                tx,
                url,
                &pk,
                &dn,
                Some(State::Available),
                State::Leased,
                Some(&station),
                Some(req.target),
                Some(req.card),
                reason,
            )?;
            Ok(Ok(Lease {
                id,
                product_key: pk,
                device_name: dn,
                device_secret,
                issued_secret,
                token,
            }))
        })?
    }

    /// Moves `lease` from `from` to `to`, setting `digest` and `reason`.
    fn step(
        &self,
        lease: &Lease,
        from: &[State],
        to: State,
        digest: Option<&str>,
        reason: &str,
    ) -> Result<()> {
        let station = self.station()?.to_owned();
        let claim = self.claim()?.token().to_owned();
        self.tx(|tx, url| {
            station::fence(tx, url, &station, &claim, true)?;
            let rows = tx.query(
                url,
                "SELECT state, target, card FROM identities WHERE id = $1 AND lease_token = $2 AND station = $3",
                &[lease.id.into(), lease.token.as_str().into(), station.as_str().into()],
            )?;
            let row = rows.first().ok_or_else(|| {
                PoolError::State(format!(
                    "{}/{}: the lease is no longer this station's",
                    lease.product_key, lease.device_name
                ))
            })?;
            let cur = state_of(row, 0)?;
            if !from.contains(&cur) {
                return Err(PoolError::State(format!(
                    "{}/{}: is {cur}, cannot become {to}",
                    lease.product_key, lease.device_name
                )));
            }
            let now = now_ms();
            let col = match to {
                State::Written => ", written_at = $4",
                State::Verified => ", verified_at = $4",
                _ => "",
            };
            let clear = if to == State::Available {
                ", station = NULL, target = NULL, card = NULL, lease_token = NULL, leased_at = NULL"
            } else {
                ""
            };
            tx.exec(
                url,
                &format!(
                    "UPDATE identities SET state = $1, digest = COALESCE($2, digest), reason = $3, changed_at = $4{col}{clear} WHERE id = $5"
                ),
                &[
                    to.as_str().into(),
                    digest.into(),
                    reason.into(),
                    now.into(),
                    lease.id.into(),
                ],
            )?;
            history(
                tx,
                url,
                &lease.product_key,
                &lease.device_name,
                Some(cur),
                to,
                Some(&station),
                text(row, 1).as_deref(),
                text(row, 2).as_deref(),
                reason,
            )
        })
    }

    /// The card holds the image (`digest`, such as `sha256:…`), synced.
    pub fn mark_written(&self, lease: &Lease, digest: &str) -> Result<()> {
        self.step(
            lease,
            &[State::Leased],
            State::Written,
            Some(digest),
            "written and synced",
        )
    }

    /// The card was read back and matched.
    pub fn mark_verified(&self, lease: &Lease, digest: &str) -> Result<()> {
        self.step(
            lease,
            &[State::Written],
            State::Verified,
            Some(digest),
            "read back and matched",
        )
    }

    /// Sets the identity aside: its card is not known good or blank.
    pub fn quarantine(&self, lease: &Lease, reason: &str) -> Result<()> {
        self.step(
            lease,
            &[State::Leased, State::Written],
            State::Quarantined,
            None,
            reason,
        )
    }

    /// Gives a leased identity back: nothing of it reached the card
    /// (the caller knows no byte was written).
    pub fn abandon(&self, lease: &Lease, reason: &str) -> Result<()> {
        self.step(lease, &[State::Leased], State::Available, None, reason)
    }

    /// Notes what the platform says or was told about an identity
    /// (`burnline platform state`, `reset`, `delete`) in its history,
    /// without changing its state: a row from its state to the same state,
    /// saying `reason`. `false`, and nothing noted, when the pool does not
    /// hold the identity or its last row already says `reason`.
    pub fn note(&self, product_key: &str, device_name: &str, reason: &str) -> Result<bool> {
        self.tx(|tx, url| {
            let rows = tx.query(
                url,
                "SELECT state, station, target, card FROM identities WHERE product_key = $1 AND device_name = $2",
                &[product_key.into(), device_name.into()],
            )?;
            let Some(row) = rows.first() else {
                return Ok(false);
            };
            let cur = state_of(row, 0)?;
            let last = tx.query(
                url,
                "SELECT reason FROM history WHERE product_key = $1 AND device_name = $2 ORDER BY seq DESC LIMIT 1",
                &[product_key.into(), device_name.into()],
            )?;
            if last.first().and_then(|r| text(r, 0)).as_deref() == Some(reason) {
                return Ok(false);
            }
            // Locks the identity's row, as every other history append does.
            tx.exec(
                url,
                "UPDATE identities SET history_head = history_head WHERE product_key = $1 AND device_name = $2",
                &[product_key.into(), device_name.into()],
            )?;
            history(
                tx,
                url,
                product_key,
                device_name,
                Some(cur),
                cur,
                text(row, 1).as_deref(),
                text(row, 2).as_deref(),
                text(row, 3).as_deref(),
                reason,
            )?;
            Ok(true)
        })
    }

    /// The identities the pool has as verified on the card described as
    /// `card` (a card's identity line), oldest first.
    pub fn verified_on(&self, card: &str) -> Result<Vec<OnCard>> {
        let key = self.key()?;
        let mut db = self.lock()?;
        let rows = db.query(
            &self.url,
            "SELECT id, product_key, device_name, device_secret, issued_secret, digest \
             FROM identities WHERE card = $1 AND state = 'verified' ORDER BY id",
            &[card.into()],
        )?;
        rows.iter()
            .map(|r| {
                Ok(OnCard {
                    lease: lease_of(key, r, String::new())?,
                    digest: text(r, 5).unwrap_or_default(),
                })
            })
            .collect()
    }

    /// The state of (`product_key`, `device_name`) and the card of its last
    /// lease, if the pool has it.
    pub fn state_of(
        &self,
        product_key: &str,
        device_name: &str,
    ) -> Result<Option<(State, Option<String>)>> {
        let mut db = self.lock()?;
        let rows = db.query(
            &self.url,
            "SELECT state, card FROM identities WHERE product_key = $1 AND device_name = $2",
            &[product_key.into(), device_name.into()],
        )?;
        rows.first()
            .map(|r| Ok((state_of(r, 0)?, text(r, 1))))
            .transpose()
    }

    /// The leases this station held when its last process died.
    pub fn stale_leases(&self) -> Result<Vec<Stale>> {
        let key = self.key()?;
        let station = self.station()?.to_owned();
        let mut db = self.lock()?;
        let rows = db.query(
            &self.url,
            "SELECT id, product_key, device_name, device_secret, issued_secret, lease_token, state, target, card \
             FROM identities WHERE station = $1 AND state IN ('leased', 'written') ORDER BY id",
            &[station.as_str().into()],
        )?;
        rows.iter()
            .map(|r| {
                Ok(Stale {
                    lease: lease_of(key, r, text(r, 5).unwrap_or_default())?,
                    state: state_of(r, 6)?,
                    target: text(r, 7).unwrap_or_default(),
                    card: text(r, 8).unwrap_or_default(),
                })
            })
            .collect()
    }

    /// After a restart: `stale` proved absent from its card goes back to
    /// the pool; otherwise it is quarantined. `reason` says why.
    pub fn resolve_stale(&self, stale: &Stale, absent: bool, reason: &str) -> Result<()> {
        let to = if absent {
            State::Available
        } else {
            State::Quarantined
        };
        self.step(
            &stale.lease,
            &[State::Leased, State::Written],
            to,
            None,
            reason,
        )
    }

    /// Puts a quarantined identity back (`pool release`).
    pub fn release(
        &self,
        product_key: Option<&str>,
        device_name: &str,
        reason: &str,
    ) -> Result<()> {
        if reason.trim().is_empty() {
            return Err(PoolError::State(
                "--reason must say why the identity is released".into(),
            ));
        }
        let by = format!("released by {}: {reason}", crate::account::current());
        self.tx(|tx, url| {
            let rows = tx.query(
                url,
                "SELECT id, product_key, state, station, target, card FROM identities \
                 WHERE device_name = $1 AND (CAST($2 AS TEXT) IS NULL OR product_key = $2)",
                &[device_name.into(), product_key.into()],
            )?;
            let row = match rows.len() {
                0 => {
                    return Err(PoolError::State(format!(
                        "{device_name}: no such identity in the pool"
                    )))
                }
                1 => &rows[0],
                n => {
                    return Err(PoolError::State(format!(
                        "{device_name}: {n} products have this DeviceName; give --product-key"
                    )))
                }
            };
            let pk = text(row, 1).unwrap_or_default();
            let cur = state_of(row, 2)?;
            if cur != State::Quarantined {
                return Err(PoolError::State(format!(
                    "{pk}/{device_name}: is {cur}, not quarantined; only a quarantined identity can be released"
                )));
            }
            tx.exec(
                url,
                "UPDATE identities SET state = 'available', station = NULL, target = NULL, card = NULL, \
                 lease_token = NULL, leased_at = NULL, written_at = NULL, verified_at = NULL, digest = NULL, \
                 reason = $1, changed_at = $2 WHERE id = $3",
                &[by.as_str().into(), now_ms().into(), int(row, 0).unwrap_or(0).into()],
            )?;
            history(
                tx,
                url,
                &pk,
                device_name,
                Some(cur),
                State::Available,
                text(row, 3).as_deref(),
                text(row, 4).as_deref(),
                text(row, 5).as_deref(),
                &by,
            )
        })
    }

    /// Counts per state and per station, and which stations are live.
    pub fn status(&self) -> Result<Status> {
        let url = self.url.clone();
        let mut db = self.lock()?;
        let mut st = Status::default();
        for s in State::ALL {
            st.states.insert(s, 0);
        }
        for r in db.query(
            &url,
            "SELECT state, count(*) FROM identities GROUP BY state",
            &[],
        )? {
            st.states
                .insert(state_of(&r, 0)?, int(&r, 1).unwrap_or(0) as u64);
        }
        for r in db.query(
            &url,
            "SELECT station, state, count(*) FROM identities WHERE station IS NOT NULL GROUP BY station, state",
            &[],
        )? {
            st.stations
                .entry(text(&r, 0).unwrap_or_default())
                .or_default()
                .insert(state_of(&r, 1)?, int(&r, 2).unwrap_or(0) as u64);
        }
        let known = db.query(
            &url,
            "SELECT name, host, pid, seen_at FROM stations ORDER BY name",
            &[],
        )?;
        for r in known {
            let name = text(&r, 0).unwrap_or_default();
            let live = station::is_live(&mut db, &url, &name)?;
            st.known.push(StationInfo {
                name,
                live,
                host: text(&r, 1).unwrap_or_default(),
                pid: int(&r, 2).unwrap_or(0),
                seen_at: int(&r, 3).unwrap_or(0),
            });
        }
        st.history = db
            .query(&url, "SELECT count(*) FROM history", &[])?
            .first()
            .and_then(|r| int(r, 0))
            .unwrap_or(0) as u64;
        Ok(st)
    }

    /// Every identity, in import order; secrets only with `reveal` (which
    /// needs the key).
    pub fn export(&self, reveal: bool) -> Result<Vec<Exported>> {
        let key = if reveal { Some(self.key()?) } else { None };
        let mut db = self.lock()?;
        let rows = db.query(
            &self.url,
            "SELECT product_key, device_name, state, station, target, card, digest, reason, \
             imported_at, leased_at, written_at, verified_at, device_secret, issued_secret \
             FROM identities ORDER BY id",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                let pk = text(r, 0).unwrap_or_default();
                let dn = text(r, 1).unwrap_or_default();
                let (ds, is) = match key {
                    Some(k) => (
                        text(r, 12)
                            .map(|s| k.decrypt(SecretKind::Device, &pk, &dn, &s))
                            .transpose()?,
                        text(r, 13)
                            .map(|s| k.decrypt(SecretKind::Issued, &pk, &dn, &s))
                            .transpose()?,
                    ),
                    None => (None, None),
                };
                Ok(Exported {
                    state: state_of(r, 2)?,
                    station: text(r, 3),
                    target: text(r, 4),
                    card: text(r, 5),
                    digest: text(r, 6),
                    reason: text(r, 7),
                    imported_at: int(r, 8).unwrap_or(0),
                    leased_at: int(r, 9),
                    written_at: int(r, 10),
                    verified_at: int(r, 11),
                    device_secret: ds,
                    issued_secret: is,
                    product_key: pk,
                    device_name: dn,
                })
            })
            .collect()
    }

    /// Checks the history's hash chain, every identity's head and state
    /// (`crate::chain::verify`). Reads only.
    pub fn verify_history(&self) -> Result<crate::chain::Report> {
        let mut db = self.lock()?;
        crate::chain::read_and_verify(&mut db, &self.url)
    }

    /// The whole history, in order.
    pub fn history(&self) -> Result<Vec<HistoryRow>> {
        let mut db = self.lock()?;
        let rows = db.query(
            &self.url,
            "SELECT seq, product_key, device_name, from_state, to_state, station, target, reason, time, card FROM history ORDER BY seq",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                Ok(HistoryRow {
                    seq: int(r, 0).unwrap_or(0),
                    time: int(r, 8).unwrap_or(0),
                    card: text(r, 9),
                    product_key: text(r, 1).unwrap_or_default(),
                    device_name: text(r, 2).unwrap_or_default(),
                    from: text(r, 3).and_then(|s| State::parse(&s)),
                    to: state_of(r, 4)?,
                    station: text(r, 5),
                    target: text(r, 6),
                    reason: text(r, 7).unwrap_or_default(),
                })
            })
            .collect()
    }

    /// Every identity's recorded image digest (those with none are left
    /// out), ordered by ProductKey and DeviceName. Reads no secret column.
    pub fn digests(&self) -> Result<Vec<ImageDigest>> {
        let mut db = self.lock()?;
        let rows = db.query(
            &self.url,
            "SELECT product_key, device_name, digest FROM identities \
             WHERE digest IS NOT NULL ORDER BY product_key, device_name",
            &[],
        )?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(ImageDigest {
                    product_key: text(r, 0)?,
                    device_name: text(r, 1)?,
                    digest: text(r, 2)?,
                })
            })
            .collect())
    }
}

impl Drop for Pool {
    /// Lets the station's claim go (best effort: one that cannot be let go
    /// runs out, or is taken over once this process is gone).
    fn drop(&mut self) {
        if let Some(mut claim) = self.station.take() {
            claim.stop();
            let (name, token) = (claim.name().to_owned(), claim.token().to_owned());
            let _ = self.tx(|tx, url| station::release(tx, url, &name, &token));
        }
    }
}

fn check_key(tx: &mut Tx<'_>, url: &PoolUrl, k: &PoolKey, check: &str) -> Result<()> {
    if k.matches(check) {
        return Ok(());
    }
    let expected = tx
        .query(
            url,
            "SELECT value FROM burnline_meta WHERE key = 'key_fingerprint'",
            &[],
        )?
        .first()
        .and_then(|r| text(r, 0))
        .unwrap_or_default();
    Err(PoolError::WrongKey {
        path: k.path().display().to_string(),
        found: k.fingerprint().to_owned(),
        expected,
    })
}
