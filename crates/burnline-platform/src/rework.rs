//! `platform reset` and `platform delete`, the FAQ's rework of a device
//! that lost its secret or its card:
//!
//! - `ResetThing` re-opens dynamic registration (一型一密): the device
//!   keeps its DeviceName and activation and may register again, and the
//!   next registration issues the secret the new card gets;
//! - `DeleteDevice` removes the device and its certificate for good; it
//!   asks first (on a terminal), and refuses to run unattended without
//!   `--yes`.
//!
//! With a pool, each is noted in the identity's history.

use super::api;
use super::client::Client;
use super::error::PlatformError;
use crate::error::Result;
use burnline_io::say;
use burnline_pool::{Pool, PoolUrl};
use std::io::{BufRead, IsTerminal, Write};

/// The pool note of a reset.
pub const RESET_NOTE: &str = "platform: reset (ResetThing): may register again";
/// The pool note of a deletion.
pub const DELETE_NOTE: &str = "platform: deleted (DeleteDevice): its certificate is void";

fn note(pool: Option<&PoolUrl>, pk: &str, dn: &str, what: &str) -> Result<()> {
    let Some(url) = pool else {
        return Ok(());
    };
    let p = Pool::open(url, None)?;
    if p.note(pk, dn, what)? {
        say!("burnline: {url}: noted in {pk}/{dn}'s history");
    } else if p.state_of(pk, dn)?.is_none() {
        say!("burnline: {url}: {pk}/{dn} is not in the pool; nothing noted");
    }
    Ok(())
}

/// `ResetThing`.
pub fn reset(c: &mut Client, pk: &str, dn: &str, pool: Option<&PoolUrl>) -> Result<()> {
    let job = api::reset_thing(c, pk, dn)?;
    say!(
        "burnline: {pk}/{dn}: reset; it may register again{}",
        job.map(|j| format!(" (topology removal: JobId {j})"))
            .unwrap_or_default()
    );
    note(pool, pk, dn, RESET_NOTE)
}

/// Asks on the terminal; `Ok(true)` when the DeviceName is typed back.
fn confirmed(pk: &str, dn: &str) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(PlatformError::Input(format!(
            "delete {pk}/{dn}: refusing to delete without --yes when no one can confirm (stdin is not a terminal)"
        )));
    }
    eprint!(
        "Delete {pk}/{dn} for good? Its certificate becomes invalid and cannot be restored. Type the DeviceName to confirm: "
    );
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| {
        PlatformError::Io(burnline_io::Error {
            context: "reading the confirmation".into(),
            source: e,
        })
    })?;
    Ok(line.trim() == dn)
}

/// `DeleteDevice`, after confirmation unless `yes`.
pub fn delete(c: &mut Client, pk: &str, dn: &str, yes: bool, pool: Option<&PoolUrl>) -> Result<()> {
    if !yes && !confirmed(pk, dn)? {
        return Err(PlatformError::Input(format!(
            "delete {pk}/{dn}: not confirmed; nothing deleted"
        )));
    }
    api::delete_device(c, pk, dn)?;
    say!("burnline: {pk}/{dn}: deleted");
    note(pool, pk, dn, DELETE_NOTE)
}
