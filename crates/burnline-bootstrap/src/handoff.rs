//! Hands the triple to the edge runtime: an env file written atomically with
//! mode 0600, and/or a command run with the triple in its environment.

use burnline_core::credentials::payload::Credentials;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;

/// The variables handed over.
pub fn variables(c: &Credentials) -> Vec<(&'static str, String)> {
    let mut v = vec![
        ("PRODUCT_KEY", c.product_key.clone()),
        ("DEVICE_NAME", c.device_name.clone()),
    ];
    if let Some(ds) = &c.device_secret {
        v.push(("DEVICE_SECRET", ds.expose().to_owned()));
    }
    v
}

/// Writes `KEY=value` lines to `path`: temp file (0600), fsync, rename, fsync dir.
pub fn export_env(path: &Path, c: &Credentials) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut body = zeroize::Zeroizing::new(String::new());
    for (k, v) in variables(c) {
        body.push_str(&format!("{k}={v}\n"));
    }
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(body.as_bytes())?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

/// Replaces this process with `cmd`, the triple in its environment. Returns
/// only if the command could not be started.
pub fn exec(cmd: &[String], c: &Credentials) -> std::io::Error {
    let Some((program, args)) = cmd.split_first() else {
        return std::io::Error::other("--exec needs a command");
    };
    std::process::Command::new(program)
        .args(args)
        .envs(variables(c))
        .exec()
}
