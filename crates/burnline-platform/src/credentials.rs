//! The AccessKey a `platform` command signs with. It comes from the
//! environment (`ALIBABA_CLOUD_ACCESS_KEY_ID`, `ALIBABA_CLOUD_ACCESS_KEY_SECRET`
//! and, for STS, `ALIBABA_CLOUD_SECURITY_TOKEN`), or from a profile of the
//! `aliyun` CLI's `~/.aliyun/config.json` (`--profile NAME`; without it
//! and without the variables, `$ALIBABA_CLOUD_PROFILE` or the file's
//! `current` profile). Never from the command line. The secret and the
//! token live in [`Secret`]: never printed, never written; the file is
//! read into a buffer that is wiped, and a file its group or others may
//! read is refused, as ssh refuses such a key.

use super::error::PlatformError;
use burnline_core::secret::Secret;
use serde::Deserialize;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The variable holding the AccessKey ID.
pub const ID_ENV: &str = "ALIBABA_CLOUD_ACCESS_KEY_ID";
/// The variable holding the AccessKey secret.
pub const SECRET_ENV: &str = "ALIBABA_CLOUD_ACCESS_KEY_SECRET";
/// The variable holding an STS token.
pub const TOKEN_ENV: &str = "ALIBABA_CLOUD_SECURITY_TOKEN";
/// The variable naming the CLI profile when `--profile` is not given.
pub const PROFILE_ENV: &str = "ALIBABA_CLOUD_PROFILE";

/// An AccessKey pair (and STS token), and the region its profile names.
#[derive(Debug)]
pub struct AccessKey {
    /// The AccessKey ID (not secret: it is sent with every request).
    pub id: String,
    /// The AccessKey secret.
    pub secret: Secret,
    /// The STS token, for temporary credentials.
    pub security_token: Option<Secret>,
    /// The profile's `region_id`, if it came from one.
    pub region: Option<String>,
    /// Where it came from, for messages (`the environment`, `profile X of FILE`).
    pub source: String,
}

#[derive(Deserialize)]
struct ConfigFile {
    #[serde(default)]
    current: String,
    #[serde(default)]
    profiles: Vec<Profile>,
}

#[derive(Deserialize)]
struct Profile {
    name: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    access_key_id: String,
    #[serde(default)]
    access_key_secret: Option<String>,
    #[serde(default)]
    sts_token: Option<String>,
    #[serde(default)]
    region_id: String,
}

/// `~/.aliyun/config.json`.
fn config_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| Path::new(&h).join(".aliyun").join("config.json"))
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The AccessKey: from `--profile`, else from the environment, else from
/// the CLI's current profile.
pub fn load(profile: Option<&str>) -> Result<AccessKey, PlatformError> {
    if let Some(name) = profile {
        return from_file(Some(name));
    }
    match (
        env(ID_ENV),
        std::env::var(SECRET_ENV).ok().filter(|v| !v.is_empty()),
    ) {
        (Some(id), Some(secret)) => Ok(AccessKey {
            id,
            secret: Secret::new(secret),
            security_token: std::env::var(TOKEN_ENV)
                .ok()
                .filter(|v| !v.is_empty())
                .map(Secret::new),
            region: None,
            source: "the environment".into(),
        }),
        (Some(_), None) => Err(PlatformError::Input(format!(
            "{ID_ENV} is set but {SECRET_ENV} is not"
        ))),
        (None, Some(_)) => Err(PlatformError::Input(format!(
            "{SECRET_ENV} is set but {ID_ENV} is not"
        ))),
        (None, None) => from_file(env(PROFILE_ENV).as_deref()),
    }
}

fn from_file(profile: Option<&str>) -> Result<AccessKey, PlatformError> {
    let none = || {
        PlatformError::Input(format!(
            "no AccessKey: set {ID_ENV} and {SECRET_ENV}, or configure a profile with `aliyun configure` (~/.aliyun/config.json) and give --profile"
        ))
    };
    let path = config_path().ok_or_else(none)?;
    let at = path.display().to_string();
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && profile.is_none() => {
            return Err(none())
        }
        Err(e) => return Err(PlatformError::Input(format!("{at}: cannot read it: {e}"))),
    };
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(PlatformError::Input(format!(
            "{at}: its group or others may read it, and it holds AccessKey secrets; chmod 600 it"
        )));
    }
    let bytes = Zeroizing::new(
        std::fs::read(&path)
            .map_err(|e| PlatformError::Input(format!("{at}: cannot read it: {e}")))?,
    );
    let file: ConfigFile = serde_json::from_slice(&bytes).map_err(|e| {
        PlatformError::Input(format!(
            "{at}: not the aliyun CLI's configuration ({})",
            burnline_core::parse_error::json(&e)
        ))
    })?;
    let name = profile.unwrap_or(&file.current).to_owned();
    let names = file
        .profiles
        .iter()
        .map(|p| p.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let Some(p) = file.profiles.into_iter().find(|p| p.name == name) else {
        return Err(PlatformError::Input(format!(
            "{at}: no profile `{name}` (it has: {names})"
        )));
    };
    if !matches!(p.mode.as_str(), "AK" | "StsToken" | "") {
        return Err(PlatformError::Input(format!(
            "{at}: profile `{name}` is mode {}; burnline takes AK and StsToken profiles",
            p.mode
        )));
    }
    let secret = p.access_key_secret.filter(|s| !s.is_empty());
    let (false, Some(secret)) = (p.access_key_id.is_empty(), secret) else {
        return Err(PlatformError::Input(format!(
            "{at}: profile `{name}` has no access_key_id and access_key_secret"
        )));
    };
    Ok(AccessKey {
        id: p.access_key_id,
        secret: Secret::new(secret),
        security_token: p
            .sts_token
            .filter(|t| p.mode == "StsToken" && !t.is_empty())
            .map(Secret::new),
        region: Some(p.region_id).filter(|r| !r.is_empty()),
        source: format!("profile `{name}` of {at}"),
    })
}
