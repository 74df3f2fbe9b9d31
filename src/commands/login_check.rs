//! `burnline login-check RECIPE --devices CSV`: logs every 一机一密 triple
//! of the CSV in over MQTT, a few at once, and disconnects each at once. It
//! catches a wrong certificate download (secrets of another product, a
//! shifted column) before a thousand cards are burned. The recipe and CSV
//! are checked as `check` does first.
//!
//! Output: one `error:` line on stderr per device that was refused or not
//! reached, then a summary on stdout (or a JSON object with `--json`).
//! Exit 0 only if every login was accepted, 1 if any was not, 2 for bad
//! input.
//!
//! Each login activates the device and shows it online for a moment, as the
//! first boot would.

use crate::cmdline::LoginCheckArgs;
use burnline_core::registration::endpoint::DEFAULT_REGION;
use burnline_core::registration::mqtt::MqttCredentials;
use burnline_core::registration::mqtt_login::{check_login, secure_mode};
use burnline_core::registration::mqtt_transport::{tls_config, MqttError, MqttTarget};
use burnline_core::registration::sign::SignMethod;
use burnline_image::build::check::check_all;
use burnline_image::device_csv::check::expect;
use burnline_image::device_csv::reader::{DeviceReader, DeviceRow};
use burnline_image::error::{Error, IoContext, Result};
use burnline_image::recipe::AuthMode;
use burnline_io::{say, show};
use serde_json::json;
use std::sync::{Arc, Mutex};

/// Logins at once without `--jobs`.
const DEFAULT_JOBS: usize = 4;

/// Logins at once, at most.
const MAX_JOBS: usize = 64;

/// One device that did not log in.
struct Failed {
    line: u64,
    device_name: String,
    error: MqttError,
}

/// Runs `login-check`.
pub fn run(args: &LoginCheckArgs) -> Result<()> {
    let (recipe, _, total) = check_all(&args.recipe, &args.devices.list())?;
    if !matches!(recipe.auth.mode, AuthMode::DeviceSecret) {
        return Err(Error::invalid(
            recipe.path.display().to_string(),
            "auth.mode",
            "login-check needs 一机一密 (device-secret): a 一型一密 CSV has no DeviceSecrets to log in with",
        ));
    }
    let target = args.mqtt.clone();
    let ca = match &args.ca_file {
        Some(p) => Some(std::fs::read(p).at("reading --ca-file", p)?),
        None => None,
    };
    let tls = tls_config(ca.as_deref()).map_err(|e| Error::Usage(format!("--ca-file: {e}")))?;
    let jobs = args.jobs.unwrap_or(DEFAULT_JOBS);
    if jobs == 0 {
        return Err(Error::invalid(
            "command line",
            "--jobs",
            "must be at least 1",
        ));
    }
    if jobs > MAX_JOBS {
        say!("login-check: --jobs {jobs} is more than {MAX_JOBS}; using {MAX_JOBS}");
    }
    let jobs = jobs.min(MAX_JOBS);
    let region = recipe
        .auth
        .region
        .clone()
        .unwrap_or_else(|| DEFAULT_REGION.to_owned());
    let reader = Mutex::new(DeviceReader::open(&args.devices.list(), expect(&recipe))?);
    let failed: Mutex<Vec<Failed>> = Mutex::new(Vec::new());
    let csv = args.devices.devices.display().to_string();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let row = {
                    let mut r = reader
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    r.next_row()
                };
                // The CSV was checked whole above: a broken row cannot come.
                let Some(Ok(row)) = row else { break };
                let Some(ds) = &row.device_secret else {
                    continue;
                };
                if let Err(error) = log_in(&row, ds, target.as_ref(), &region, &tls) {
                    say!("error: {csv}:{}: {}: {error}", row.line, row.device_name);
                    failed
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(Failed {
                            line: row.line,
                            device_name: row.device_name,
                            error,
                        });
                }
            });
        }
    });
    let mut failed = failed
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    failed.sort_by_key(|f| f.line);
    report(&failed, total, args.json);
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::LoginsFailed {
            failed: failed.len(),
            total: total as usize,
        })
    }
}

/// Logs `row` in with its DeviceSecret `ds` (at `target`, else its
/// product's regional endpoint) and disconnects at once.
fn log_in(
    row: &DeviceRow,
    ds: &burnline_core::secret::Secret,
    target: Option<&MqttTarget>,
    region: &str,
    tls: &Arc<rustls::ClientConfig>,
) -> std::result::Result<(), MqttError> {
    let to = target.cloned().unwrap_or_else(|| MqttTarget {
        host: format!("{}.iot-as-mqtt.{region}.aliyuncs.com", row.product_key),
        port: burnline_core::registration::mqtt::TLS_PORT,
        tls: true,
    });
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
        .to_string();
    let creds = MqttCredentials::derive(
        &row.product_key,
        &row.device_name,
        ds,
        SignMethod::HmacSha256,
        &timestamp,
        region,
        &secure_mode(&to, None),
    );
    check_login(&to, Some(tls.clone()), &creds)
}

/// The summary on stdout: a line, or a JSON object with `--json` listing
/// the devices that failed (sorted by line).
fn report(failed: &[Failed], total: u64, json: bool) {
    let refused = failed
        .iter()
        .filter(|f| matches!(f.error, MqttError::Refused(_)))
        .count();
    let unreached = failed.len() - refused;
    let accepted = total as usize - failed.len();
    if json {
        let list: Vec<_> = failed
            .iter()
            .map(|f| {
                json!({
                    "line": f.line,
                    "device_name": f.device_name,
                    "connack": match f.error { MqttError::Refused(c) => Some(c), _ => None },
                    "error": f.error.to_string(),
                })
            })
            .collect();
        show!(
            "{}",
            json!({"devices": total, "accepted": accepted, "refused": refused,
                   "unreached": unreached, "failed": list})
        );
    } else {
        show!(
            "login-check: {total} device(s): {accepted} accepted, {refused} refused, {unreached} not reached"
        );
    }
}
