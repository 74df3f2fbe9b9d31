//! `burnline platform create|state|reset|delete`: the command line turned
//! into a signed OpenAPI client (`burnline_platform`) and its inputs: the
//! DeviceNames to create (a file, or a prefix and a count), the devices to
//! ask about (a CSV, plain or age, or the pool's verified identities).

use crate::cmdline::platform::AuthModeArg;
use crate::cmdline::{
    OpenApiArgs, PlatformCommand, PlatformCreateArgs, PlatformDeleteArgs, PlatformDeviceArgs,
    PlatformStateArgs,
};
use crate::error::Error;
use burnline_core::identity::rules::check_device_name;
use burnline_image::error::{Error as RunError, Problem};
use burnline_io::say;
use burnline_platform::client::Client;
use burnline_platform::create::{self, Create, Target};
use burnline_platform::error::PlatformError;
use burnline_platform::store::{self, Sink};
use burnline_platform::{credentials, device_state, endpoint::Endpoint, rework};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Most names one batch takes (`BatchCheckDeviceNames`).
const MAX_NAMES: usize = 10_000;

/// A `platform` command's result.
type Result<T> = std::result::Result<T, Error>;

/// Runs a `platform` subcommand.
pub fn run(cmd: &PlatformCommand) -> Result<()> {
    match cmd {
        PlatformCommand::Create(a) => create_cmd(a),
        PlatformCommand::State(a) => state_cmd(a),
        PlatformCommand::Reset(a) => reset_cmd(a),
        PlatformCommand::Delete(a) => delete_cmd(a),
    }
}

/// The client the options describe.
fn client(a: &OpenApiArgs) -> Result<Client> {
    let key = credentials::load(a.profile.as_deref())?;
    let endpoint = Endpoint::resolve(
        a.endpoint.as_ref(),
        a.region.as_deref(),
        key.region.as_deref(),
    )?;
    say!(
        "burnline: OpenAPI {} as AccessKey {} (from {})",
        endpoint.base(),
        key.id,
        key.source
    );
    Ok(Client::new(endpoint, key, a.instance.clone()))
}

fn input(msg: String) -> Error {
    PlatformError::Input(msg).into()
}

/// The names of `--names FILE`: one a line, or a CSV's DeviceName column.
fn names_from(path: &Path) -> Result<Vec<String>> {
    let at = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| RunError::Io {
        context: format!("reading {at}"),
        source: e,
    })?;
    let mut lines = text.lines().enumerate().peekable();
    let header: Vec<String> = lines
        .peek()
        .map(|(_, l)| {
            l.trim_start_matches('\u{feff}')
                .split(',')
                .map(|c| c.trim().to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default();
    let column = header
        .iter()
        .position(|c| c == "devicename" || c == "device_name");
    if column.is_some() {
        lines.next();
    }
    let mut names = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in lines {
        let field = line
            .split(',')
            .nth(column.unwrap_or(0))
            .unwrap_or("")
            .trim();
        if field.is_empty() && column.is_none() && line.trim().is_empty() {
            continue;
        }
        match check_device_name(field) {
            Ok(()) => names.push(field.to_owned()),
            Err(rule) => problems.push(Problem::new(format!("{at}:{}", i + 1), "DeviceName", rule)),
        }
    }
    if !problems.is_empty() {
        return Err(RunError::Invalid(problems).into());
    }
    Ok(names)
}

/// The names to create, checked: valid, unique, at most 10,000.
fn names(a: &PlatformCreateArgs) -> Result<Vec<String>> {
    let names = match (&a.names, &a.prefix, a.count) {
        (Some(file), _, _) => names_from(file)?,
        (None, Some(prefix), Some(count)) => {
            let end = a
                .start
                .checked_add(count)
                .ok_or_else(|| input("--start plus --count is too large".into()))?;
            let names: Vec<String> = (a.start..end).map(|i| format!("{prefix}{i:06}")).collect();
            if let Some(bad) = names.iter().find_map(|n| check_device_name(n).err()) {
                return Err(input(format!(
                    "--prefix {prefix}: the generated names break a rule: {bad}"
                )));
            }
            names
        }
        _ => return Err(input("give --names FILE, or --prefix and --count".into())),
    };
    if names.is_empty() {
        return Err(input("no DeviceName to create".into()));
    }
    if names.len() > MAX_NAMES {
        return Err(input(format!(
            "{} names: one batch takes at most {MAX_NAMES}; split them",
            names.len()
        )));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = names.iter().find(|n| !seen.insert(n.as_str())) {
        return Err(input(format!("DeviceName {dup} is given twice")));
    }
    Ok(names)
}

/// `FILE.apply.json` next to `file`.
fn beside(file: &Path) -> PathBuf {
    let mut name = file.file_name().unwrap_or_default().to_os_string();
    name.push(".apply.json");
    file.with_file_name(name)
}

fn create_cmd(a: &PlatformCreateArgs) -> Result<()> {
    let names = names(a)?;
    let target = match (a.auth_mode, &a.pool, &a.out) {
        (AuthModeArg::ProductSecret, None, Some(out)) => Target::NamesOnly(out.clone()),
        (AuthModeArg::ProductSecret, _, _) => {
            return Err(input(
                "--auth-mode product-secret creates the names only: give --out FILE for the DeviceName CSV (not --pool)".into(),
            ))
        }
        (AuthModeArg::DeviceSecret, Some(url), None) => Target::Certificates(Sink::Pool {
            url: url.clone(),
            key_file: a.key_file.clone().ok_or_else(|| input("--pool needs --key-file".into()))?,
        }),
        (AuthModeArg::DeviceSecret, None, Some(out)) => {
            if a.recipient.is_empty() {
                return Err(input(format!(
                    "--out {}: give --recipient age1… (the certificates are never written in clear)",
                    out.display()
                )));
            }
            Target::Certificates(Sink::Age {
                out: out.clone(),
                recipients: store::recipients(&a.recipient)?,
            })
        }
        _ => return Err(input("give --pool URL --key-file FILE, or --out FILE.age --recipient age1…".into())),
    };
    let journal = match (&a.journal, &a.out) {
        (Some(j), _) => j.clone(),
        (None, Some(out)) => beside(out),
        (None, None) => PathBuf::from(format!("platform-create-{}.apply.json", a.product_key)),
    };
    let mut c = client(&a.api)?;
    Ok(create::run(
        &mut c,
        &Create {
            product_key: a.product_key.to_string(),
            names,
            target,
            journal,
            wait: a.wait,
        },
    )?)
}

/// The (ProductKey, DeviceName) rows of a device CSV (plain or age).
fn devices_from(a: &PlatformStateArgs, path: &Path) -> Result<Vec<(String, String)>> {
    let list = a.identity.list(path);
    let at = list.to_string();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(list.open()?);
    let header = reader
        .headers()
        .map_err(|e| RunError::invalid(&at, "", format!("not a CSV: {e}")))?
        .clone();
    let col = |names: &[&str]| {
        header.iter().position(|h| {
            let h = h.trim_start_matches('\u{feff}').trim().to_ascii_lowercase();
            names.contains(&h.as_str())
        })
    };
    let dn_col = col(&["devicename", "device_name"])
        .ok_or_else(|| RunError::invalid(&at, "DeviceName", "the CSV has no DeviceName column"))?;
    let pk_col = col(&["productkey", "product_key"]);
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let line = i + 2;
        let row = row.map_err(|e| {
            RunError::invalid(
                format!("{at}:{line}"),
                "",
                format!("not a CSV row: {}", e.kind_name()),
            )
        })?;
        let dn = row.get(dn_col).unwrap_or("").trim().to_owned();
        let pk = pk_col
            .and_then(|c| row.get(c))
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .or_else(|| a.product_key.as_ref().map(ToString::to_string));
        let Some(pk) = pk else {
            problems.push(Problem::new(
                format!("{at}:{line}"),
                "ProductKey",
                "no ProductKey in the row; give --product-key",
            ));
            continue;
        };
        if let Err(rule) = check_device_name(&dn) {
            problems.push(Problem::new(format!("{at}:{line}"), "DeviceName", rule));
            continue;
        }
        out.push((pk, dn));
    }
    if !problems.is_empty() {
        return Err(RunError::Invalid(problems).into());
    }
    Ok(out)
}

/// A CSV error's kind without the row it quotes.
trait KindName {
    fn kind_name(&self) -> String;
}

impl KindName for csv::Error {
    fn kind_name(&self) -> String {
        match self.kind() {
            csv::ErrorKind::Utf8 { .. } => "not UTF-8".into(),
            csv::ErrorKind::UnequalLengths { .. } => "a row of another length".into(),
            csv::ErrorKind::Io(e) => e.to_string(),
            _ => "unreadable".into(),
        }
    }
}

fn state_cmd(a: &PlatformStateArgs) -> Result<()> {
    let devices = match (&a.devices, &a.pool) {
        (Some(path), _) => devices_from(a, path)?,
        (None, Some(url)) => {
            let pool = burnline_pool::Pool::open(url, None)?;
            pool.export(false)?
                .into_iter()
                .filter(|e| e.state == burnline_pool::State::Verified)
                .map(|e| (e.product_key, e.device_name))
                .collect()
        }
        (None, None) => return Err(input("give --devices CSV or --pool URL".into())),
    };
    if devices.is_empty() {
        return Err(input(match &a.pool {
            Some(url) => format!("{url}: no verified identity to ask about"),
            None => "the CSV lists no device".into(),
        }));
    }
    let mut c = client(&a.api)?;
    let seen =
        device_state::ask_until_online(&mut c, &devices, a.wait_online, Duration::from_secs(5))?;
    if let Some(url) = &a.pool {
        let pool = burnline_pool::Pool::open(url, None)?;
        let mut noted = 0;
        for s in seen.iter().filter(|s| s.status == "ONLINE") {
            if pool.note(&s.product_key, &s.device_name, device_state::ONLINE_NOTE)? {
                noted += 1;
            }
        }
        say!("burnline: {url}: {noted} identit(ies) noted ONLINE in the history");
    }
    Ok(device_state::report(&seen, a.json)?)
}

fn reset_cmd(a: &PlatformDeviceArgs) -> Result<()> {
    let mut c = client(&a.api)?;
    Ok(rework::reset(
        &mut c,
        a.product_key.as_str(),
        a.device_name.as_str(),
        a.pool.as_ref(),
    )?)
}

fn delete_cmd(a: &PlatformDeleteArgs) -> Result<()> {
    let d = &a.device;
    let mut c = client(&d.api)?;
    Ok(rework::delete(
        &mut c,
        d.product_key.as_str(),
        d.device_name.as_str(),
        a.yes,
        d.pool.as_ref(),
    )?)
}
