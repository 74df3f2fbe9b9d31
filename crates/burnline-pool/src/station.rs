//! A station's name, claimed by one live process at a time. The claim is a
//! row inside the pool database itself (`stations.claim_*`), so the same
//! database reached by another path (a symlink, a hard link, another
//! spelling of the server's address) is the same claim.
//!
//! A claim holds a random token and an expiry, [`TTL_MS`] after its last
//! renewal by the database's clock; the holder renews it every
//! [`RENEW_EVERY`] on a connection of its own, and a renewal that finds the
//! token gone or the claim expired loses it for good. The holder stops
//! writing cards [`MARGIN`] before its claim could expire (counted by its
//! own monotonic clock from when it sent the last renewal that succeeded),
//! and every state change of the pool checks the token in its own
//! transaction ([`fence`]), so a station whose claim is lost neither writes
//! a card nor records one: a lost connection no longer frees a name while
//! its holder writes.
//!
//! Another process takes the name only when the holder is provably gone:
//! its claim expired, or it ran on this same boot of this machine, in this
//! PID namespace, and no process of its pid and start time runs any more
//! (so a station restarted after a crash on the same PC starts at once).

use crate::db::{Db, Row, Tx, Val};
use crate::error::{PoolError, Result};
use crate::url::PoolUrl;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a claim lasts after its last renewal, by the database's clock.
pub const TTL_MS: i64 = 20_000;
/// How often the holder renews its claim.
pub const RENEW_EVERY: Duration = Duration::from_secs(2);
/// How long before its claim could expire the holder stops writing: room
/// for one chunk's write in flight.
pub const MARGIN: Duration = Duration::from_secs(5);

/// Checks the naming rule: 1 to 64 of `A-Za-z0-9._-`.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(PoolError::BadStationName(name.chars().take(80).collect()))
    }
}

/// The database's clock, in milliseconds since the Unix epoch, as SQL.
fn now_sql(url: &PoolUrl) -> &'static str {
    match url {
        PoolUrl::Postgres(_) => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
        PoolUrl::Sqlite(_) => "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
    }
}

/// Who holds a claim: enough to tell, on the same machine, whether it
/// still runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The host name (shown only).
    pub host: String,
    /// The kernel's boot id and the PID namespace: a pid means one process
    /// only within both.
    pub boot: String,
    /// The process id.
    pub pid: i64,
    /// The process's start time (clock ticks after boot).
    pub start: i64,
}

impl Holder {
    /// This process.
    pub fn me() -> Holder {
        let pid = i64::from(std::process::id());
        Holder {
            host: std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_owned())
                .unwrap_or_default(),
            boot: boot_and_namespace().unwrap_or_default(),
            pid,
            start: proc_start(pid).unwrap_or(0),
        }
    }

    /// Whether this holder, whose claim has the token `token`, is provably
    /// gone: it ran in this boot and PID namespace and no process of its
    /// pid and start time runs now (this very process: its claim was let
    /// go, no live [`Claim`] holds the token).
    pub fn gone(&self, token: &str) -> bool {
        let me = Holder::me();
        if self.boot.is_empty() || self.boot != me.boot || self.start == 0 {
            return false;
        }
        if self.pid == me.pid && self.start == me.start {
            return !LIVE
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .any(|t| t == token);
        }
        proc_start(self.pid) != Some(self.start)
    }
}

fn boot_and_namespace() -> Option<String> {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let ns = std::fs::read_link("/proc/self/ns/pid").ok()?;
    Some(format!("{} {}", boot.trim(), ns.display()))
}

/// The start time of process `pid`, if it runs (a zombie does not).
fn proc_start(pid: i64) -> Option<i64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut after = stat[stat.rfind(')')? + 1..].split_whitespace();
    if matches!(after.next(), Some("Z" | "X" | "x")) {
        return None;
    }
    after.nth(18)?.parse().ok()
}

/// The tokens of the claims this process holds now.
static LIVE: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn text(r: &Row, i: usize) -> Option<String> {
    r.get(i).and_then(Val::text)
}
fn int(r: &Row, i: usize) -> Option<i64> {
    r.get(i).and_then(Val::int)
}

/// Whether a `stations` row read as `claim_token, expired, claim_boot,
/// pid, claim_start` (from `i` on) is held by a live process.
fn held(r: &Row, i: usize) -> bool {
    let Some(token) = text(r, i) else {
        return false;
    };
    let expired = int(r, i + 1) != Some(0);
    let holder = Holder {
        host: String::new(),
        boot: text(r, i + 2).unwrap_or_default(),
        pid: int(r, i + 3).unwrap_or(0),
        start: int(r, i + 4).unwrap_or(0),
    };
    !expired && !holder.gone(&token)
}

/// The columns [`held`] reads, as SQL.
fn held_columns(url: &PoolUrl) -> String {
    format!(
        "claim_token, CASE WHEN claim_expires > {} THEN 0 ELSE 1 END, claim_boot, pid, claim_start",
        now_sql(url)
    )
}

/// Takes the claim on `name` for `holder` with `token`, in `tx`:
/// [`PoolError::StationInUse`] while a live process holds it.
pub fn take(
    tx: &mut Tx<'_>,
    url: &PoolUrl,
    name: &str,
    holder: &Holder,
    token: &str,
) -> Result<()> {
    let pg = matches!(url, PoolUrl::Postgres(_));
    let rows = tx.query(
        url,
        &format!(
            "SELECT {} FROM stations WHERE name = $1{}",
            held_columns(url),
            if pg { " FOR UPDATE" } else { "" }
        ),
        &[name.into()],
    )?;
    let seen = match rows.first() {
        Some(r) if held(r, 0) => return Err(PoolError::StationInUse(name.to_owned())),
        Some(r) => text(r, 0),
        None => None,
    };
    let now = now_sql(url);
    let same = if pg { "IS NOT DISTINCT FROM" } else { "IS" };
    // Compare-and-set on the token seen: of two processes taking an
    // expired claim at once, one wins.
    let n = tx.exec(
        url,
        &format!(
            "INSERT INTO stations (name, host, pid, started_at, seen_at, claim_token, claim_expires, claim_boot, claim_start) \
             VALUES ($1, $2, $3, {now}, {now}, $4, {now} + {TTL_MS}, $5, $6) \
             ON CONFLICT (name) DO UPDATE SET host = $2, pid = $3, started_at = {now}, seen_at = {now}, \
             claim_token = $4, claim_expires = {now} + {TTL_MS}, claim_boot = $5, claim_start = $6 \
             WHERE stations.claim_token {same} $7"
        ),
        &[
            name.into(),
            holder.host.as_str().into(),
            holder.pid.into(),
            token.into(),
            holder.boot.as_str().into(),
            holder.start.into(),
            seen.into(),
        ],
    )?;
    if n != 1 {
        return Err(PoolError::StationInUse(name.to_owned()));
    }
    Ok(())
}

/// Lets the claim `token` on `name` go, in `tx` (nothing if it is no
/// longer that token's).
pub fn release(tx: &mut Tx<'_>, url: &PoolUrl, name: &str, token: &str) -> Result<()> {
    tx.exec(
        url,
        "UPDATE stations SET claim_token = NULL, claim_expires = NULL WHERE name = $1 AND claim_token = $2",
        &[name.into(), token.into()],
    )?;
    Ok(())
}

/// Checks, in `tx`, that `token` still holds `name` and has not expired;
/// with `hold`, also (PostgreSQL) keeps it from being taken until `tx`
/// ends (SQLite's write lock already does). Every state change of the pool
/// runs this, holding, shortly before it commits (a lease that registers
/// its device checks once before, without holding, and once after: the
/// holder's own renewal must not wait for the platform's answer).
pub fn fence(tx: &mut Tx<'_>, url: &PoolUrl, name: &str, token: &str, hold: bool) -> Result<()> {
    let pg = matches!(url, PoolUrl::Postgres(_)) && hold;
    let rows = tx.query(
        url,
        &format!(
            "SELECT 1 FROM stations WHERE name = $1 AND claim_token = $2 AND claim_expires > {}{}",
            now_sql(url),
            if pg { " FOR SHARE" } else { "" }
        ),
        &[name.into(), token.into()],
    )?;
    if rows.is_empty() {
        return Err(PoolError::ClaimLost {
            station: name.to_owned(),
            why: "the pool no longer has this process's claim on it (it expired or was taken over)"
                .into(),
        });
    }
    Ok(())
}

/// Whether a live process holds `name` (for `pool status`).
pub fn is_live(db: &mut Db, url: &PoolUrl, name: &str) -> Result<bool> {
    let rows = db.query(
        url,
        &format!("SELECT {} FROM stations WHERE name = $1", held_columns(url)),
        &[name.into()],
    )?;
    Ok(rows.first().is_some_and(|r| held(r, 0)))
}

/// Renews the claim `token` on `name` on `db`: `Ok(false)` when the
/// token no longer holds it or it expired (lost for good).
fn renew(db: &mut Db, url: &PoolUrl, name: &str, token: &str) -> Result<bool> {
    let now = now_sql(url);
    let n = db.tx(url, |tx| {
        tx.exec(
            url,
            &format!(
                "UPDATE stations SET claim_expires = {now} + {TTL_MS}, seen_at = {now} \
                 WHERE name = $1 AND claim_token = $2 AND claim_expires > {now}"
            ),
            &[name.into(), token.into()],
        )
    })?;
    Ok(n == 1)
}

/// What the holder knows of its claim: until when it may write, or why it
/// lost it.
struct Standing {
    /// When the clock started.
    base: Instant,
    /// Writing is allowed until this many ms after `base`.
    until_ms: AtomicU64,
    /// Why the claim was lost for good.
    lost: Mutex<Option<String>>,
}

impl Standing {
    fn renewed(&self, sent: Instant) {
        let until =
            (sent + Duration::from_millis(TTL_MS as u64)).saturating_duration_since(self.base);
        let until = until.saturating_sub(MARGIN);
        self.until_ms
            .fetch_max(until.as_millis() as u64, Ordering::SeqCst);
    }

    fn lose(&self, why: &str) {
        *self.lost.lock().unwrap_or_else(|p| p.into_inner()) = Some(why.to_owned());
    }
}

/// A held claim: its token, and the thread that renews it.
pub struct Claim {
    name: String,
    token: String,
    standing: std::sync::Arc<Standing>,
    stop: Option<std::sync::mpsc::Sender<()>>,
    renewer: Option<std::thread::JoinHandle<()>>,
}

impl Claim {
    /// Starts holding the claim `token` on `name` (just taken, the request
    /// sent at `sent`), renewing it on a connection of its own to `url`.
    pub fn hold(url: &PoolUrl, name: &str, token: &str, sent: Instant) -> Claim {
        let standing = std::sync::Arc::new(Standing {
            base: sent,
            until_ms: AtomicU64::new(0),
            lost: Mutex::new(None),
        });
        standing.renewed(sent);
        LIVE.lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(token.to_owned());
        let (stop, rx) = std::sync::mpsc::channel::<()>();
        let (url, n, t, s) = (
            url.clone(),
            name.to_owned(),
            token.to_owned(),
            standing.clone(),
        );
        let renewer = std::thread::Builder::new()
            .name(format!("claim-{name}"))
            .spawn(move || renew_loop(&url, &n, &t, &s, &rx))
            .ok();
        if renewer.is_none() {
            standing.lose("its renewal thread could not be started");
        }
        Claim {
            name: name.to_owned(),
            token: token.to_owned(),
            standing,
            stop: Some(stop),
            renewer,
        }
    }

    /// The station's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The claim's token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Whether this process may still write under the claim:
    /// [`PoolError::ClaimLost`] once it is lost, or once it could expire
    /// within [`MARGIN`] (no renewal got through).
    pub fn check(&self) -> Result<()> {
        let lost = |why: String| PoolError::ClaimLost {
            station: self.name.clone(),
            why,
        };
        if let Some(why) = self
            .standing
            .lost
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        {
            return Err(lost(why));
        }
        let elapsed = self.standing.base.elapsed().as_millis() as u64;
        if elapsed >= self.standing.until_ms.load(Ordering::SeqCst) {
            return Err(lost(format!(
                "no renewal reached the pool database in time (a claim lasts {} s); another process may take the name",
                TTL_MS / 1000
            )));
        }
        Ok(())
    }

    /// Stops renewing (the claim itself is let go by the caller).
    pub fn stop(&mut self) {
        self.stop.take();
        if let Some(h) = self.renewer.take() {
            let _ = h.join();
        }
        LIVE.lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|t| t != &self.token);
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.stop();
    }
}

fn renew_loop(
    url: &PoolUrl,
    name: &str,
    token: &str,
    standing: &Standing,
    stop: &std::sync::mpsc::Receiver<()>,
) {
    let mut db: Option<Db> = None;
    while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(RENEW_EVERY) {
        let sent = Instant::now();
        let conn = match db.as_mut() {
            Some(c) => c,
            None => match Db::connect(url, false) {
                Ok(c) => db.insert(c),
                Err(_) => continue,
            },
        };
        match renew(conn, url, name, token) {
            Ok(true) => standing.renewed(sent),
            Ok(false) => {
                standing.lose("it expired or was taken over before it could be renewed");
                return;
            }
            // A broken connection: connect afresh next time; the claim
            // runs out on its own if none gets through.
            Err(_) => db = None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_name("st-1.a_b").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("a/b").is_err());
        assert!(check_name(&"x".repeat(65)).is_err());
    }

    #[test]
    fn a_holder_is_gone_only_when_provably_so() {
        let me = Holder::me();
        assert!(me.start > 0 && !me.boot.is_empty());
        // This process, with no live claim of that token: gone.
        assert!(me.gone("no-such-token"));
        LIVE.lock().unwrap().push("held".into());
        assert!(!me.gone("held"));
        LIVE.lock().unwrap().retain(|t| t != "held");
        // Another boot, or an unknown one: never provably gone.
        let other = Holder {
            boot: "another boot".into(),
            pid: 999_999_999,
            ..me.clone()
        };
        assert!(!other.gone("t"));
        // A process that ran here and is no more: gone.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = i64::from(child.id());
        let start = proc_start(pid);
        child.wait().unwrap();
        let dead = Holder {
            pid,
            start: start.unwrap_or(1),
            ..me.clone()
        };
        assert!(dead.gone("t"));
        // The same pid with another start time is another process.
        let reused = Holder {
            start: me.start + 1,
            ..me
        };
        assert!(reused.gone("t"));
    }
}
