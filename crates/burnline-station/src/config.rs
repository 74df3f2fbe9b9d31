//! `station.yaml`: what a station service runs with. The recipe, the pool
//! and the station's name, the slots (an allowlist of device paths: nothing
//! else is ever written), where the operator page listens, and where labels
//! go. Every broken rule is reported as `station.yaml:LINE:COL: field: rule`
//! (exit 2) before anything starts.
//!
//! A slot path is not required to exist or to be a block device here: a
//! card reader's `/dev/disk/by-path/...` name exists only while the reader
//! is plugged in. What a slot path names is checked each time a card shows
//! up, and a refusal is shown on the page (see `super::safety`).

use burnline_core::secret::Secret;
use burnline_image::error::{Error, Problem, Result};
use burnline_image::recipe::locate::Locator;
use burnline_io::hash::DigestKind;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The station's configuration, resolved (paths relative to the file made
/// absolute against its directory).
#[derive(Debug, Clone)]
pub struct StationConfig {
    /// The config file itself.
    pub path: PathBuf,
    /// The recipe every card is burned from.
    pub recipe: PathBuf,
    /// The pool's URL (`sqlite:PATH`, `postgres://...`).
    pub pool: burnline_pool::PoolUrl,
    /// The pool's key file (decrypts the secrets).
    pub key_file: PathBuf,
    /// This station's name in the pool.
    pub station: String,
    /// Where the base image and the station's own files go.
    pub work_dir: PathBuf,
    /// For `register: host`: extra CA certificates (PEM).
    pub ca_file: Option<PathBuf>,
    /// The slots, in the order the page shows them.
    pub slots: Vec<SlotConfig>,
    /// Where the operator page listens.
    pub listen: SocketAddr,
    /// The token the page asks for; required unless `listen` is loopback.
    pub token: Option<Secret>,
    /// Labels.
    pub labels: LabelConfig,
    /// The line's offset from UTC in minutes: "today" and label dates.
    pub utc_offset_minutes: i32,
    /// The digest each card's image is recorded with in the pool
    /// (`digest:`, `blake3` by default, or `sha256`).
    pub digest: DigestKind,
}

/// One slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotConfig {
    /// Its name on the page and in the API (`1`, `A2`).
    pub id: String,
    /// The device path (the allowlist entry).
    pub path: PathBuf,
}

/// Which label file the print command gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrintFormat {
    /// The ZPL file (Zebra printers, raw).
    Zpl,
    /// The PNG file.
    Png,
}

/// Where labels go and how they are printed.
#[derive(Debug, Clone)]
pub struct LabelConfig {
    /// The directory the PNG and ZPL files are written to.
    pub dir: PathBuf,
    /// Run for each verified card with the label's path appended (no shell).
    pub print_command: Option<Vec<String>>,
    /// Which file the print command gets.
    pub print_format: PrintFormat,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    recipe: PathBuf,
    pool: String,
    key_file: PathBuf,
    station: String,
    work_dir: PathBuf,
    #[serde(default)]
    ca_file: Option<PathBuf>,
    slots: Vec<RawSlot>,
    #[serde(default)]
    listen: Option<String>,
    #[serde(default)]
    token_file: Option<PathBuf>,
    #[serde(default)]
    labels: Option<RawLabels>,
    #[serde(default)]
    utc_offset: Option<String>,
    #[serde(default)]
    digest: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSlot {
    #[serde(default)]
    id: Option<String>,
    path: PathBuf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLabels {
    #[serde(default)]
    dir: Option<PathBuf>,
    #[serde(default)]
    print_command: Option<Vec<String>>,
    #[serde(default)]
    print_format: Option<PrintFormat>,
}

/// The default page address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// At most this many slots (a gang programmer has a few dozen).
pub const MAX_SLOTS: usize = 64;

/// Parses `+08:00` / `-05:30` / `Z` into minutes east of UTC.
pub fn parse_utc_offset(text: &str) -> std::result::Result<i32, String> {
    let bad = || {
        format!(
            "{} is not an offset such as +08:00 (or Z for UTC)",
            burnline_core::identity::rules::shown(text)
        )
    };
    if text == "Z" || text == "z" {
        return Ok(0);
    }
    let (sign, rest) = match text.as_bytes().first() {
        Some(b'+') => (1, &text[1..]),
        Some(b'-') => (-1, &text[1..]),
        _ => return Err(bad()),
    };
    let (h, m) = rest.split_once(':').ok_or_else(bad)?;
    let (h, m): (i32, i32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h.to_string().len() > 2
        || !(0..=14).contains(&h)
        || !(0..60).contains(&m)
        || h == 14 && m > 0
    {
        return Err(bad());
    }
    Ok(sign * (h * 60 + m))
}

/// Reads the page's token from `path`, refusing a file its group or
/// others may read (as the pool's key file is) and a token under 16
/// characters; the rule broken, in words.
fn read_token(path: &Path) -> std::result::Result<Secret, String> {
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;
    let mut file = std::fs::File::open(path).map_err(|e| format!("cannot be read: {e}"))?;
    let mode = file
        .metadata()
        .map_err(|e| format!("cannot be read: {e}"))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(format!(
            "mode {:04o} lets its group or others read the token; it must be 0600 (chmod 600)",
            mode & 0o7777
        ));
    }
    let mut text = zeroize::Zeroizing::new(String::new());
    file.read_to_string(&mut text)
        .map_err(|e| format!("cannot be read: {e}"))?;
    let token = text.trim();
    if token.len() < 16 {
        return Err("holds a token shorter than 16 characters".into());
    }
    Ok(Secret::new(token.to_owned()))
}

fn valid_id(id: &str) -> bool {
    (1..=16).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The broken rules found so far, each placed at its field's line and
/// column in the file (or at the file when the field is not written).
struct Problems<'a> {
    path: &'a Path,
    locator: Locator,
    list: Vec<Problem>,
}

impl Problems<'_> {
    /// Records that `field` breaks `rule`.
    fn add(&mut self, field: &str, rule: String) {
        let location = match self.locator.find(field) {
            Some((line, col)) => format!("{}:{line}:{col}", self.path.display()),
            None => self.path.display().to_string(),
        };
        self.list.push(Problem::new(location, field, rule));
    }
}

/// Reads `path` and parses it as YAML (too deep a nesting refused first);
/// returns the fields and the text.
fn read_raw(path: &Path) -> Result<(Raw, String)> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::invalid(
            path.display().to_string(),
            "",
            format!("cannot read the station config: {e}"),
        )
    })?;
    if let Some((line, col)) = burnline_image::recipe::locate::too_deep(&text) {
        return Err(Error::invalid(
            format!("{}:{line}:{col}", path.display()),
            "",
            "nests too deep for a station config",
        ));
    }
    let raw: Raw = yaml_serde::from_str(&text)
        .map_err(|e| burnline_image::recipe::locate::yaml_error(path, "station config", &e))?;
    Ok((raw, text))
}

/// `station`: 1 to 64 characters, none of them control characters.
fn check_station(station: &str, p: &mut Problems<'_>) {
    if station.is_empty() || station.len() > 64 || station.chars().any(char::is_control) {
        p.add(
            "station",
            "must be 1 to 64 characters, none of them control characters".into(),
        );
    }
}

/// `slots`: 1 to [`MAX_SLOTS`], each with a valid id (its position when
/// not given) and an absolute path, no id or path twice.
fn check_slots(raw: &[RawSlot], p: &mut Problems<'_>) -> Vec<SlotConfig> {
    if raw.is_empty() {
        p.add("slots", "must list at least one slot".into());
    }
    if raw.len() > MAX_SLOTS {
        p.add(
            "slots",
            format!("lists {} slots; at most {MAX_SLOTS}", raw.len()),
        );
    }
    let mut slots: Vec<SlotConfig> = Vec::new();
    for (i, s) in raw.iter().enumerate() {
        let id = s.id.clone().unwrap_or_else(|| (i + 1).to_string());
        if !valid_id(&id) {
            p.add(
                &format!("slots[{i}].id"),
                "must be 1 to 16 letters, digits, `-` or `_`".into(),
            );
        }
        if !s.path.is_absolute() {
            p.add(
                &format!("slots[{i}].path"),
                "must be an absolute device path such as /dev/disk/by-path/... or /dev/mmcblk0"
                    .into(),
            );
        }
        if let Some(j) = slots.iter().position(|o| o.id == id) {
            p.add(
                &format!("slots[{i}].id"),
                format!("`{id}` is already the id of slots[{j}]"),
            );
        }
        if let Some(j) = slots.iter().position(|o| o.path == s.path) {
            p.add(
                &format!("slots[{i}].path"),
                format!("is already the path of slots[{j}]"),
            );
        }
        slots.push(SlotConfig {
            id,
            path: s.path.clone(),
        });
    }
    slots
}

/// `listen` (default [`DEFAULT_LISTEN`]) and the page's token from
/// `token_file` (already made absolute), required when the page listens
/// beyond loopback.
fn check_listen(
    listen: Option<&str>,
    token_file: Option<&Path>,
    p: &mut Problems<'_>,
) -> (SocketAddr, Option<Secret>) {
    let listen = listen.unwrap_or(DEFAULT_LISTEN);
    let listen = match listen.parse::<SocketAddr>() {
        Ok(a) => a,
        Err(_) => {
            p.add(
                "listen",
                format!(
                    "{} is not an address such as 127.0.0.1:8080",
                    burnline_core::identity::rules::shown(listen)
                ),
            );
            SocketAddr::from(([127, 0, 0, 1], 8080))
        }
    };
    let token = match token_file {
        None => None,
        Some(f) => match read_token(f) {
            Ok(t) => Some(t),
            Err(rule) => {
                p.add("token_file", rule);
                None
            }
        },
    };
    if token.is_none() && token_file.is_none() && !listen.ip().is_loopback() {
        p.add(
            "listen",
            format!(
                "{listen} is not a loopback address: set token_file, the token the page asks for"
            ),
        );
    }
    (listen, token)
}

/// `labels`: the directory (default `WORK_DIR/labels`), the print command
/// (a program, then its arguments) and format (default ZPL).
fn check_labels(
    raw: Option<RawLabels>,
    work_dir: &Path,
    abs: &dyn Fn(&Path) -> PathBuf,
    p: &mut Problems<'_>,
) -> LabelConfig {
    let labels = raw.unwrap_or(RawLabels {
        dir: None,
        print_command: None,
        print_format: None,
    });
    if labels
        .print_command
        .as_ref()
        .is_some_and(|c| c.is_empty() || c[0].is_empty())
    {
        p.add(
            "labels.print_command",
            "must name a program (a list: program, then its arguments)".into(),
        );
    }
    LabelConfig {
        dir: labels
            .dir
            .map_or_else(|| work_dir.join("labels"), |d| abs(&d)),
        print_command: labels.print_command,
        print_format: labels.print_format.unwrap_or(PrintFormat::Zpl),
    }
}

impl StationConfig {
    /// Reads and checks `path`; every broken rule is returned together.
    pub fn load(path: &Path) -> Result<StationConfig> {
        let (raw, text) = read_raw(path)?;
        let mut p = Problems {
            path,
            locator: Locator::new(&text),
            list: Vec::new(),
        };
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let abs = |p: &Path| {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                dir.join(p)
            }
        };
        check_station(&raw.station, &mut p);
        let pool = match raw.pool.parse::<burnline_pool::PoolUrl>() {
            Ok(u) => Some(u),
            Err(e) => {
                p.add("pool", e);
                None
            }
        };
        let slots = check_slots(&raw.slots, &mut p);
        let token_file = raw.token_file.as_deref().map(abs);
        let (listen, token) = check_listen(raw.listen.as_deref(), token_file.as_deref(), &mut p);
        let utc_offset_minutes = match raw.utc_offset.as_deref() {
            None => 8 * 60,
            Some(t) => parse_utc_offset(t).unwrap_or_else(|e| {
                p.add("utc_offset", e);
                0
            }),
        };
        let digest = match raw.digest.as_deref() {
            None => DigestKind::Blake3,
            Some(d) => DigestKind::parse(d).unwrap_or_else(|| {
                p.add("digest", format!("must be `blake3` or `sha256`, not {d}"));
                DigestKind::Blake3
            }),
        };
        let work_dir = abs(&raw.work_dir);
        let labels = check_labels(raw.labels, &work_dir, &abs, &mut p);
        let (true, Some(pool)) = (p.list.is_empty(), pool) else {
            return Err(Error::Invalid(p.list));
        };
        Ok(StationConfig {
            path: path.to_path_buf(),
            recipe: abs(&raw.recipe),
            pool,
            key_file: abs(&raw.key_file),
            station: raw.station,
            work_dir,
            ca_file: raw.ca_file.map(|c| abs(&c)),
            slots,
            listen,
            token,
            labels,
            utc_offset_minutes,
            digest,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<StationConfig> {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("station.yaml");
        std::fs::write(&p, text).expect("write");
        StationConfig::load(&p)
    }

    const BASE: &str =
        "recipe: r.yaml\npool: sqlite:pool.db\nkey_file: pool.key\nstation: st1\nwork_dir: work\n";

    #[test]
    fn a_minimal_config_listens_on_loopback_with_numbered_slots() {
        let c = load(&format!(
            "{BASE}slots:\n  - path: /dev/mmcblk0\n  - path: /dev/mmcblk1\n"
        ))
        .expect("ok");
        assert_eq!(c.listen, DEFAULT_LISTEN.parse().expect("addr"));
        assert_eq!(c.slots[1].id, "2");
        assert!(c.recipe.is_absolute() && c.labels.dir.ends_with("work/labels"));
        assert_eq!(c.utc_offset_minutes, 480);
    }

    /// Cards are recorded in the pool by BLAKE3 unless `digest: sha256`;
    /// any other name is refused where it stands.
    #[test]
    fn the_digest_is_blake3_unless_sha256_is_asked() {
        let slots = "slots:\n  - path: /dev/mmcblk0\n";
        let c = load(&format!("{BASE}{slots}")).expect("ok");
        assert_eq!(c.digest, DigestKind::Blake3);
        let c = load(&format!("{BASE}digest: sha256\n{slots}")).expect("ok");
        assert_eq!(c.digest, DigestKind::Sha256);
        let Err(Error::Invalid(p)) = load(&format!("{BASE}digest: md5\n{slots}")) else {
            panic!("md5 accepted");
        };
        let all: Vec<String> = p.iter().map(ToString::to_string).collect();
        assert!(
            all[0].contains(":6:9: digest: must be `blake3` or `sha256`, not md5"),
            "{all:?}"
        );
    }

    #[test]
    fn every_broken_rule_is_located() {
        let e = load(&format!(
            "{BASE}listen: 0.0.0.0:80\nutc_offset: '+8'\nslots:\n  - path: dev/sdb\n  - {{id: '1', path: /dev/sdc}}\n"
        ))
        .expect_err("refused");
        let Error::Invalid(p) = e else { unreachable!() };
        let text: Vec<String> = p.iter().map(ToString::to_string).collect();
        let all = text.join("\n");
        assert!(
            all.contains(":6:9: listen: 0.0.0.0:80 is not a loopback address"),
            "{all}"
        );
        assert!(all.contains(":7:13: utc_offset:"), "{all}");
        assert!(
            all.contains(":9:11: slots[0].path: must be an absolute"),
            "{all}"
        );
        assert!(
            all.contains("slots[1].id: `1` is already the id of slots[0]"),
            "{all}"
        );
    }

    #[test]
    fn a_token_file_others_may_read_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let token = dir.path().join("page.token");
        std::fs::write(&token, "0123456789abcdef0123\n").expect("token");
        let p = dir.path().join("station.yaml");
        std::fs::write(
            &p,
            format!("{BASE}token_file: page.token\nslots:\n  - path: /dev/mmcblk0\n"),
        )
        .expect("write");
        use std::os::unix::fs::PermissionsExt;
        for mode in [0o644, 0o640, 0o604] {
            std::fs::set_permissions(&token, std::fs::Permissions::from_mode(mode)).expect("chmod");
            let Err(Error::Invalid(problems)) = StationConfig::load(&p) else {
                panic!("mode {mode:o} accepted");
            };
            let e: Vec<String> = problems.iter().map(ToString::to_string).collect();
            let e = e.join("\n");
            assert!(
                e.contains(&format!(
                    ":6:13: token_file: mode {mode:04o} lets its group or others read the token"
                )),
                "{e}"
            );
            assert!(!e.contains("0123456789abcdef"), "{e}");
        }
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let c = StationConfig::load(&p).expect("ok");
        assert_eq!(c.token.expect("token").expose(), "0123456789abcdef0123");
        assert!(!format!("{:?}", StationConfig::load(&p).expect("ok")).contains("0123456789abcdef"));
    }

    #[test]
    fn offsets() {
        assert_eq!(parse_utc_offset("+08:00"), Ok(480));
        assert_eq!(parse_utc_offset("-05:30"), Ok(-330));
        assert_eq!(parse_utc_offset("Z"), Ok(0));
        assert!(parse_utc_offset("+15:00").is_err());
        assert!(parse_utc_offset("08:00").is_err());
    }
}
