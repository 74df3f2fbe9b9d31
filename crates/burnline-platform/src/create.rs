//! `platform create`: the console's batch creation, from the command line.
//!
//! 1. `BatchCheckDeviceNames` hands the names in; the ApplyId it answers
//!    is recorded in the journal ([`super::journal`]) at once;
//! 2. `QueryBatchRegisterDeviceStatus` is polled until the check is done
//!    (`CHECK_SUCCESS`; `CHECK_FAILED` names each refused name);
//! 3. `BatchRegisterDeviceWithApplyId` creates the devices (the journal
//!    records the attempt before it is sent and its acceptance after);
//! 4. the status is polled until `CREATE_SUCCESS`;
//! 5. `QueryPageByApplyId` is paged 50 at a time and the certificates go
//!    into the pool or an age file ([`super::store`]); for a 一型一密
//!    product no certificate is fetched, and the DeviceName CSV is written.
//!
//! A rerun with the same product and names resumes from the journal (a
//! journal of another batch is refused until that batch is done): it
//! never sends the names in again, and sends the registration again only
//! when the platform's status shows it was not received
//! (`CHECK_SUCCESS`). Storing is idempotent (the pool counts an identity it
//! has as "already"; the file is replaced whole).

use super::api::{self, Issued, Refusal, BATCH};
use super::client::Client;
use super::error::PlatformError;
use super::journal::{self, Journal, Phase};
use super::store::{self, Sink};
use crate::error::Result;
use burnline_io::say;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What is created, where its result goes.
pub enum Target {
    /// 一机一密: fetch the certificates into a sink.
    Certificates(Sink),
    /// 一型一密: create the names only; write the DeviceName CSV here.
    NamesOnly(PathBuf),
}

/// A `platform create` run.
pub struct Create {
    /// The product.
    pub product_key: String,
    /// The DeviceNames, checked and unique.
    pub names: Vec<String>,
    /// Where the result goes.
    pub target: Target,
    /// The journal file.
    pub journal: PathBuf,
    /// How long to wait for the platform's check and creation.
    pub wait: Duration,
}

/// Names refused by the platform, as one error.
fn refused(what: &str, list: &[Refusal]) -> PlatformError {
    let shown: Vec<String> = list
        .iter()
        .take(20)
        .map(|r| format!("{} ({})", r.device_name, r.reason))
        .collect();
    PlatformError::Input(format!(
        "{what}: the platform refused {} name(s): {}{}",
        list.len(),
        shown.join(", "),
        if list.len() > 20 { ", …" } else { "" }
    ))
}

/// Polls the application's status until it is one of `done` (or a
/// failure); returns the status.
fn wait_for(c: &mut Client, run: &Create, apply_id: i64, done: &[&str]) -> Result<String> {
    let deadline = Instant::now() + run.wait;
    let mut pause = Duration::from_millis(200);
    let mut last = String::new();
    loop {
        let p = api::query_batch_register_status(c, &run.product_key, apply_id)?;
        if p.status != last {
            say!("burnline: ApplyId {apply_id}: {}", p.status);
            last.clone_from(&p.status);
        }
        if done.contains(&p.status.as_str()) {
            return Ok(p.status);
        }
        if p.status.ends_with("_FAILED") {
            return Err(refused(
                &format!("ApplyId {apply_id}: {}", p.status),
                &p.refused,
            ));
        }
        if Instant::now() >= deadline {
            return Err(PlatformError::Transport {
                api: "QueryBatchRegisterDeviceStatus".into(),
                detail: format!(
                    "ApplyId {apply_id} is still {} after {} s; run the same command again to go on waiting",
                    p.status,
                    run.wait.as_secs()
                ),
            });
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_secs(3));
    }
}

/// Runs it.
pub fn run(c: &mut Client, run: &Create) -> Result<()> {
    let digest = journal::digest(&run.names);
    let mut j = match journal::load(&run.journal)? {
        Some(j) if j.product_key == run.product_key && j.names_sha256 == digest => {
            say!(
                "burnline: {}: resuming ApplyId {} ({:?})",
                run.journal.display(),
                j.apply_id,
                j.phase
            );
            j
        }
        Some(j) if j.phase != Phase::Done => {
            return Err(PlatformError::Input(format!(
                "{}: records ApplyId {} of another batch ({} {} name(s)); finish that one, or give another --journal",
                run.journal.display(),
                j.apply_id,
                j.product_key,
                j.count
            )))
        }
        // No journal, or the journal of a finished batch: a new batch.
        _ => {
            let names: Vec<&str> = run.names.iter().map(String::as_str).collect();
            let checked = api::batch_check_device_names(c, &run.product_key, &names)?;
            if !checked.refused.is_empty() {
                return Err(refused("BatchCheckDeviceNames", &checked.refused));
            }
            let j = Journal {
                product_key: run.product_key.clone(),
                names_sha256: digest,
                count: run.names.len(),
                apply_id: checked.apply_id,
                phase: Phase::Checked,
            };
            journal::save(&run.journal, &j)?;
            burnline_io::crash_point!("platform-create-after-check");
            say!(
                "burnline: {} name(s) handed in: ApplyId {} (recorded in {})",
                run.names.len(),
                j.apply_id,
                run.journal.display()
            );
            j
        }
    };
    if matches!(j.phase, Phase::Checked | Phase::Registering) {
        let status = wait_for(
            c,
            run,
            j.apply_id,
            &["CHECK_SUCCESS", "CREATE", "CREATE_SUCCESS"],
        )?;
        if status == "CHECK_SUCCESS" {
            j.phase = Phase::Registering;
            journal::save(&run.journal, &j)?;
            api::batch_register_with_apply_id(c, &run.product_key, j.apply_id)?;
            burnline_io::crash_point!("platform-create-after-register");
        }
        j.phase = Phase::Registered;
        journal::save(&run.journal, &j)?;
    }
    wait_for(c, run, j.apply_id, &["CREATE_SUCCESS"])?;
    let summary = match &run.target {
        Target::NamesOnly(out) => store::write_names(out, &run.product_key, &run.names)?,
        Target::Certificates(sink) => {
            let issued = fetch(c, run, j.apply_id)?;
            store::store(sink, &run.product_key, issued)?
        }
    };
    j.phase = Phase::Done;
    journal::save(&run.journal, &j)?;
    say!("burnline: {summary}");
    Ok(())
}

/// Pages through the application's certificates, 50 a page, and checks
/// that they are exactly the names handed in.
fn fetch(c: &mut Client, run: &Create, apply_id: i64) -> Result<Vec<Issued>> {
    let mut issued: Vec<Issued> = Vec::with_capacity(run.names.len());
    let mut page = 1;
    loop {
        let p = api::query_page_by_apply_id(c, apply_id, page, BATCH)?;
        let got = p.devices.len();
        issued.extend(p.devices);
        say!(
            "burnline: certificates {} of {} (page {page} of {})",
            issued.len(),
            p.total,
            p.page_count
        );
        if page >= p.page_count || got == 0 {
            break;
        }
        page += 1;
    }
    let wanted: std::collections::HashSet<&str> = run.names.iter().map(String::as_str).collect();
    let mut seen = std::collections::HashSet::new();
    for i in &issued {
        if !wanted.contains(i.device_name.as_str()) || !seen.insert(i.device_name.clone()) {
            return Err(PlatformError::Transport {
                api: "QueryPageByApplyId".into(),
                detail: format!(
                    "ApplyId {apply_id} lists {} twice or outside the batch",
                    i.device_name
                ),
            });
        }
    }
    if issued.len() != run.names.len() {
        return Err(PlatformError::Transport {
            api: "QueryPageByApplyId".into(),
            detail: format!(
                "ApplyId {apply_id} lists {} certificate(s) for {} name(s)",
                issued.len(),
                run.names.len()
            ),
        });
    }
    Ok(issued)
}
