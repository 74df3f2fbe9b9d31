//! Resolution of a raw recipe into [`Recipe`]: every rule that can be
//! checked from the recipe alone, each broken one reported at its line,
//! column and field, all of them together. Warnings (allowed but unwise) are
//! returned in [`Recipe::warnings`], not printed.

use super::arch::Arch;
use super::locate::{located, Locator};
use super::output_spec;
use super::part_type::{self, PartType};
use super::raw::{self, RawAuth, RawPartType, RawRecipe, RawSecretSource, RawSize};
use super::size;
use super::types::*;
use crate::error::{Error, Problem, Result};
use burnline_core::identity::rules;
use burnline_core::secret::Secret;
use burnline_fat::spec::{FatBits, FatFile};
use std::path::{Path, PathBuf};

/// Reads and checks a recipe. All broken rules are returned together.
pub fn load(path: &Path) -> Result<Recipe> {
    let (recipe, problems) = load_lenient(path)?;
    if problems.is_empty() {
        Ok(recipe)
    } else {
        Err(Error::Invalid(problems))
    }
}

/// Reads a recipe for a command that only lays out the disk (`plan`): the
/// ProductSecret's source is checked for its form (`{ env }` or `{ file }`)
/// but never read, so neither the variable nor the file need be there. The
/// recipe holds an empty secret in its place: nothing that burns or
/// registers is ever given it.
pub fn load_layout(path: &Path) -> Result<Recipe> {
    let (recipe, problems) = load_with(path, SecretUse::Unread)?;
    if problems.is_empty() {
        Ok(recipe)
    } else {
        Err(Error::Invalid(problems))
    }
}

/// Whether the ProductSecret is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SecretUse {
    Read,
    Unread,
}

/// Reads a recipe and returns it with the rules it breaks, as long as it can
/// be resolved at all (so that `check` can go on to the layout and the CSV
/// and report everything at once).
pub fn load_lenient(path: &Path) -> Result<(Recipe, Vec<Problem>)> {
    load_with(path, SecretUse::Read)
}

fn load_with(path: &Path, secret: SecretUse) -> Result<(Recipe, Vec<Problem>)> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::invalid(
            path.display().to_string(),
            "",
            format!("cannot read the recipe: {e}"),
        )
    })?;
    if let Some((line, col)) = super::locate::too_deep(&text) {
        return Err(Error::invalid(
            format!("{}:{line}:{col}", path.display()),
            "",
            format!(
                "nests deeper than {} levels; a recipe needs a handful",
                super::locate::MAX_DEPTH
            ),
        ));
    }
    let raw: RawRecipe =
        yaml_serde::from_str(&text).map_err(|e| super::locate::yaml_error(path, "recipe", &e))?;
    let locator = Locator::new(&text);
    let partition_count = raw.partitions.len();
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    if let Some(RawSecretSource::Inline(_)) = &raw.auth.product_secret {
        let field = "auth.product_secret";
        warnings.push(located(
            path,
            &locator,
            field,
            "is written inline in the recipe; prefer { env: NAME } or { file: PATH } so the recipe can be shared",
        ));
    }
    let mut p = |field: &str, rule: String| problems.push(located(path, &locator, field, rule));
    let output = output_spec::resolve(&raw.output, &mut p);
    let resolved = resolve(raw, &dir, secret, &mut p);
    match resolved {
        Some((disk, partitions, blobs, auth, output_pattern))
            if partitions.len() == partition_count =>
        {
            Ok((
                Recipe {
                    path: path.to_path_buf(),
                    disk,
                    partitions,
                    blobs,
                    auth,
                    output_pattern,
                    output,
                    warnings,
                    locator,
                },
                problems,
            ))
        }
        _ => Err(Error::Invalid(problems)),
    }
}

type Resolved = (Disk, Vec<Partition>, Vec<Blob>, Auth, String);

/// Every size and offset in a recipe is at most this (1 PiB). Layout
/// arithmetic adds and aligns a few such values, so bounding each one here
/// is what keeps every sum far from `u64::MAX`: a value past it is a rule
/// broken at its own line and column, never a wrapped offset.
pub const MAX_BYTES: u64 = 1 << 50;

fn size_of(raw: &RawSize, field: &str, p: &mut impl FnMut(&str, String)) -> Option<u64> {
    let bytes = match raw {
        RawSize::Bytes(b) => *b,
        RawSize::Text(t) => match size::parse_size(t) {
            Ok(b) => b,
            Err(rule) => {
                p(field, rule);
                return None;
            }
        },
    };
    if bytes > MAX_BYTES {
        p(
            field,
            format!("{bytes} bytes is more than 1 PiB, the most burnline lays out"),
        );
        return None;
    }
    Some(bytes)
}

fn resolve(
    raw: RawRecipe,
    dir: &Path,
    secret: SecretUse,
    p: &mut impl FnMut(&str, String),
) -> Option<Resolved> {
    let disk = resolve_disk(&raw, p);
    let table = disk.as_ref().map(|d| d.table).unwrap_or(TableKind::Gpt);
    let mut partitions = Vec::new();
    if raw.partitions.is_empty() {
        p("partitions", "at least one partition is needed".into());
    }
    let last = raw.partitions.len().saturating_sub(1);
    for (i, rp) in raw.partitions.iter().enumerate() {
        if let Some(part) = resolve_partition(rp, i, i == last, table, dir, p) {
            partitions.push(part);
        }
    }
    if table == TableKind::Gpt && raw.partitions.len() > GPT_ENTRIES as usize {
        p(
            "partitions",
            format!(
                "a GPT holds at most {} partitions, the recipe has {}",
                GPT_ENTRIES,
                raw.partitions.len()
            ),
        );
    }
    let mut names: Vec<(&str, String)> = Vec::new();
    for (i, rp) in raw.partitions.iter().enumerate() {
        let kernel = kernel_name(&rp.name);
        if names.iter().any(|(n, _)| *n == rp.name) {
            p(
                &format!("partitions[{i}].name"),
                format!("partition name `{}` is used twice", rp.name),
            );
        } else if let Some(j) = names.iter().position(|(_, k)| *k == kernel) {
            p(
                &format!("partitions[{i}].name"),
                format!(
                    "partition name `{}` reads as `{kernel}` to the Linux kernel (PARTNAME, \
                     /dev/disk/by-partlabel), as partitions[{j}].name does: the device would find \
                     either",
                    rp.name
                ),
            );
        }
        names.push((&rp.name, kernel));
    }
    // Counted as written: a credentials partition whose size or format is
    // refused on its own line still has `credentials:`.
    let creds = raw
        .partitions
        .iter()
        .filter(|p| p.credentials.is_some())
        .count();
    if creds != 1 && !raw.partitions.is_empty() {
        p(
            "partitions",
            format!("exactly one partition must have `credentials:`, found {creds}"),
        );
    }
    if table == TableKind::Mbr && raw.partitions.len() > 4 {
        p(
            "partitions",
            "an MBR holds at most 4 primary partitions".into(),
        );
    }
    let mut blobs = Vec::new();
    for (i, rb) in raw.blobs.iter().enumerate() {
        let field = format!("blobs[{i}]");
        let offset = size_of(&rb.offset, &format!("{field}.offset"), p);
        let source = dir.join(&rb.source);
        match std::fs::metadata(&source) {
            Ok(m) if m.is_file() => {
                if let Some(offset) = offset {
                    blobs.push(Blob {
                        source,
                        offset,
                        len: m.len(),
                        field,
                    });
                }
            }
            Ok(_) => p(
                &format!("{field}.source"),
                format!("`{}` is not a file", source.display()),
            ),
            Err(e) => p(
                &format!("{field}.source"),
                format!("cannot read `{}`: {e}", source.display()),
            ),
        }
    }
    let auth = resolve_auth(&raw.auth, dir, secret, p);
    let output_pattern = raw
        .output
        .pattern
        .clone()
        .unwrap_or_else(|| "{device_name}.img".to_owned());
    if let Err(rule) = crate::file_name::check_pattern(&output_pattern) {
        p("output.pattern", rule);
    }
    Some((disk?, partitions, blobs, auth?, output_pattern))
}

/// A GPT partition name as Linux shows it (`PARTNAME` in uevent, the
/// `/dev/disk/by-partlabel` link the bootstrap's boot script and udev go
/// by): the low byte of each UTF-16 unit, a non-printable one as `!`, up to
/// the first zero byte. `ţreds` (U+0163) reads as `creds` there.
fn kernel_name(name: &str) -> String {
    name.encode_utf16()
        .map(|u| (u & 0xff) as u8)
        .take_while(|b| *b != 0)
        .map(|b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '!'
            }
        })
        .collect()
}

fn resolve_disk(raw: &RawRecipe, p: &mut impl FnMut(&str, String)) -> Option<Disk> {
    let d = &raw.disk;
    let size = size_of(&d.size, "disk.size", p);
    let table = match d.table.as_str() {
        "gpt" => Some(TableKind::Gpt),
        "mbr" => Some(TableKind::Mbr),
        other => {
            p(
                "disk.table",
                format!("must be `gpt` or `mbr`, found {}", rules::shown(other)),
            );
            None
        }
    };
    let sector_size = d.sector_size.unwrap_or(512);
    if sector_size != 512 && sector_size != 4096 {
        p(
            "disk.sector_size",
            format!("must be 512 or 4096, found {sector_size}"),
        );
    }
    let alignment = match &d.alignment {
        Some(a) => size_of(a, "disk.alignment", p),
        None => Some(1 << 20),
    };
    if let Some(a) = alignment {
        if a == 0 || a % sector_size != 0 {
            p(
                "disk.alignment",
                format!("must be a non-zero multiple of the sector size ({sector_size})"),
            );
        }
    }
    if let Some(s) = size {
        if s % sector_size != 0 {
            p(
                "disk.size",
                format!("must be a multiple of the sector size ({sector_size})"),
            );
        }
    }
    let seed = match hex::decode(d.seed.trim()) {
        Ok(bytes) if bytes.len() == 16 => {
            let mut s = [0u8; 16];
            s.copy_from_slice(&bytes);
            Some(s)
        }
        _ => {
            p("disk.seed", "must be 32 hex digits (16 bytes)".into());
            None
        }
    };
    let source_date_epoch = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => match v.trim().parse::<i64>() {
            Ok(t) => t,
            Err(_) => {
                p("disk.source_date_epoch", format!("the environment's SOURCE_DATE_EPOCH `{v}` is not a whole number of seconds"));
                0
            }
        },
        Err(_) => d.source_date_epoch.unwrap_or(315_532_800),
    };
    let arch = match d.arch.as_deref().map(|a| (a, Arch::parse(a))) {
        None => None,
        Some((_, Some(a))) => Some(a),
        Some((other, None)) => {
            p(
                "disk.arch",
                format!("must be {}, found `{other}`", Arch::NAMES),
            );
            None
        }
    };
    Some(Disk {
        size: size?,
        table: table?,
        sector_size,
        alignment: alignment?,
        seed: seed?,
        source_date_epoch,
        arch,
    })
}

fn resolve_type(
    raw: Option<&RawPartType>,
    table: TableKind,
    content: &Content,
    field: &str,
    p: &mut impl FnMut(&str, String),
) -> Option<PartType> {
    let default_text = match (table, content) {
        (TableKind::Gpt, Content::Fat(_)) => "basic-data",
        (TableKind::Mbr, Content::Fat(f)) => match f.bits {
            Some(FatBits::Fat12) => "fat12",
            Some(FatBits::Fat32) => "fat32",
            _ => "fat16",
        },
        _ => "linux",
    };
    let result = match (table, raw) {
        (TableKind::Gpt, Some(RawPartType::Text(t))) => part_type::gpt_type(t).map(PartType::Gpt),
        (TableKind::Gpt, Some(RawPartType::Byte(_))) => {
            Err("a GPT partition type is a GUID or an alias, not a number".into())
        }
        (TableKind::Gpt, None) => part_type::gpt_type(default_text).map(PartType::Gpt),
        (TableKind::Mbr, Some(RawPartType::Text(t))) => part_type::mbr_type(t).map(PartType::Mbr),
        (TableKind::Mbr, Some(RawPartType::Byte(b))) => match u8::try_from(*b) {
            Ok(b) if b != 0 => Ok(PartType::Mbr(b)),
            _ => Err(format!("an MBR type byte is 1..=255, found {b}")),
        },
        (TableKind::Mbr, None) => part_type::mbr_type(default_text).map(PartType::Mbr),
    };
    result
        .map_err(|rule| p(&format!("{field}.type"), rule))
        .ok()
}

fn resolve_partition(
    rp: &raw::RawPartition,
    i: usize,
    is_last: bool,
    table: TableKind,
    dir: &Path,
    p: &mut impl FnMut(&str, String),
) -> Option<Partition> {
    let field = format!("partitions[{i}]");
    if rp.name.is_empty() {
        p(&format!("{field}.name"), "must not be empty".into());
    } else if rp.name.chars().any(char::is_control) {
        // A NUL ends the name for most readers: `creds\0x` reads as `creds`.
        p(
            &format!("{field}.name"),
            "must not hold control characters (such as NUL)".into(),
        );
    } else if rp.name.encode_utf16().count() > 36 {
        p(
            &format!("{field}.name"),
            "a GPT partition name holds at most 36 UTF-16 units".into(),
        );
    }
    let size = match &rp.size {
        RawSize::Text(t) if t == "fill" => {
            if !is_last {
                p(
                    &format!("{field}.size"),
                    "only the last partition may be `fill`".into(),
                );
            }
            Some(PartSize::Fill)
        }
        other => match size_of(other, &format!("{field}.size"), p) {
            Some(0) => {
                p(&format!("{field}.size"), "must not be zero".into());
                None
            }
            Some(b) => Some(PartSize::Bytes(b)),
            None => None,
        },
    };
    let kinds = [
        rp.fat.is_some(),
        rp.image.is_some(),
        rp.credentials.is_some(),
    ]
    .iter()
    .filter(|k| **k)
    .count();
    if kinds > 1 {
        p(
            &field,
            "give at most one of `fat`, `image` and `credentials`".into(),
        );
    }
    let content = if let Some(f) = &rp.fat {
        Content::Fat(resolve_fat(f, &format!("{field}.fat"), dir, p)?)
    } else if let Some(img) = &rp.image {
        let source = dir.join(img);
        if let Err(e) = std::fs::metadata(&source).and_then(|m| {
            if m.is_file() {
                Ok(())
            } else {
                Err(std::io::Error::other("not a regular file"))
            }
        }) {
            p(
                &format!("{field}.image"),
                format!("cannot read `{}`: {e}", source.display()),
            );
        }
        Content::Image(source)
    } else if let Some(c) = &rp.credentials {
        Content::Credentials(resolve_credentials(c, &format!("{field}.credentials"), p)?)
    } else {
        Content::Empty
    };
    let part_type = resolve_type(rp.part_type.as_ref(), table, &content, &field, p);
    let offset = match &rp.offset {
        Some(o) => Some(size_of(o, &format!("{field}.offset"), p)?),
        None => None,
    };
    Some(Partition {
        name: rp.name.clone(),
        size: size?,
        offset,
        part_type: part_type?,
        content,
        bootable: rp.bootable,
        field,
    })
}

fn resolve_fat(
    f: &raw::RawFat,
    field: &str,
    dir: &Path,
    p: &mut impl FnMut(&str, String),
) -> Option<FatSpec> {
    let bits = match f.fat_type {
        None => None,
        Some(12) => Some(FatBits::Fat12),
        Some(16) => Some(FatBits::Fat16),
        Some(32) => Some(FatBits::Fat32),
        Some(other) => {
            p(
                &format!("{field}.type"),
                format!("must be 12, 16 or 32, found {other}"),
            );
            None
        }
    };
    if let Some(label) = &f.label {
        if let Err(rule) = check_label(label) {
            p(&format!("{field}.label"), rule);
        }
    }
    let mut files = Vec::new();
    for (j, rf) in f.files.iter().enumerate() {
        let ff = format!("{field}.files[{j}]");
        let source = dir.join(&rf.source);
        if let Err(e) = std::fs::metadata(&source) {
            p(
                &format!("{ff}.source"),
                format!("cannot read `{}`: {e}", source.display()),
            );
        }
        let dest = rf.dest.trim_matches('/').to_owned();
        if rf.dest.split('/').any(|c| c == ".." || c == ".") || rf.dest.contains('\\') {
            p(
                &format!("{ff}.dest"),
                "must be a plain path inside the volume (no `.`, `..` or `\\`)".into(),
            );
        }
        files.push(FatFile { source, dest });
    }
    Some(FatSpec {
        bits,
        label: f.label.as_ref().map(|l| l.to_ascii_uppercase()),
        files,
    })
}

/// A FAT volume label: 1–11 printable ASCII characters, none of `"*+,./:;<=>?[\]|`.
pub fn check_label(label: &str) -> Result<(), String> {
    if label.is_empty() || label.len() > 11 {
        return Err("a FAT label is 1 to 11 characters".into());
    }
    if !label
        .chars()
        .all(|c| c.is_ascii_graphic() && !"\"*+,./:;<=>?[\\]|".contains(c) || c == ' ')
    {
        return Err("a FAT label is printable ASCII without \"*+,./:;<=>?[\\]|".into());
    }
    Ok(())
}

fn resolve_credentials(
    c: &raw::RawCredentials,
    field: &str,
    p: &mut impl FnMut(&str, String),
) -> Option<CredentialsSpec> {
    let format = match c.format.as_deref().unwrap_or("record") {
        "record" => {
            if c.path.is_some() || c.label.is_some() {
                p(field, "`path` and `label` belong to `format: fat`".into());
            }
            CredentialsFormat::Record
        }
        "fat" => {
            let label = c.label.clone().unwrap_or_else(|| "CREDS".into());
            if let Err(rule) = check_label(&label) {
                p(&format!("{field}.label"), rule);
            }
            let path = c
                .path
                .clone()
                .unwrap_or_else(|| "credentials.json".into())
                .trim_matches('/')
                .to_owned();
            if path.is_empty()
                || path
                    .split('/')
                    .any(|s| s.is_empty() || s == "." || s == "..")
            {
                p(
                    &format!("{field}.path"),
                    "must be a plain path inside the volume".into(),
                );
            }
            CredentialsFormat::Fat {
                path,
                label: label.to_ascii_uppercase(),
            }
        }
        other => {
            p(
                &format!("{field}.format"),
                format!("must be `record` or `fat`, found {}", rules::shown(other)),
            );
            return None;
        }
    };
    Some(CredentialsSpec {
        format,
        keep_product_secret: c.keep_product_secret,
    })
}

fn resolve_auth(
    a: &RawAuth,
    dir: &Path,
    secret_use: SecretUse,
    p: &mut impl FnMut(&str, String),
) -> Option<Auth> {
    if let Some(pk) = &a.product_key {
        if let Err(rule) = rules::check_product_key(pk) {
            p("auth.product_key", rule);
        }
    }
    // The endpoint (or the region's host) every device will use: checked
    // by the same rules as the client's, since a bad one makes every image
    // unbootable.
    use burnline_core::registration::endpoint::{Endpoint, EndpointError};
    if let Err(e) = Endpoint::resolve(a.endpoint.as_deref(), a.region.as_deref()) {
        let field = match (&e, &a.endpoint) {
            (EndpointError::BadRegion(_), _) | (_, None) => "auth.region",
            _ => "auth.endpoint",
        };
        p(field, e.to_string());
    } else if let (Some(region), Some(_)) = (&a.region, &a.endpoint) {
        if let Err(e) = Endpoint::for_region(region) {
            p("auth.region", e.to_string());
        }
    }
    let register = match a.register.as_deref() {
        None | Some("device") => RegisterAt::Device,
        Some("host") => RegisterAt::Host,
        Some(other) => {
            p(
                "auth.register",
                format!("must be `device` or `host`, found {}", rules::shown(other)),
            );
            RegisterAt::Device
        }
    };
    match (a.register_via.as_deref(), a.mode.as_str(), register) {
        (None, _, _) => {}
        (Some(v), _, _) if v != "http" && v != "mqtt" => p(
            "auth.register_via",
            format!("must be `http` or `mqtt`, found {}", rules::shown(v)),
        ),
        (Some(_), "product-secret", RegisterAt::Device) => {}
        (Some(_), _, _) => p(
            "auth.register_via",
            "belongs to `mode: product-secret` with the device registering (`register: device`)"
                .into(),
        ),
    }
    let mode = match a.mode.as_str() {
        "device-secret" => {
            if a.product_secret.is_some() {
                p("auth.product_secret", "belongs to `mode: product-secret`; 一机一密 takes each DeviceSecret from the CSV".into());
            }
            if a.register.is_some() {
                p("auth.register", "belongs to `mode: product-secret`".into());
            }
            AuthMode::DeviceSecret
        }
        "product-secret" => {
            if a.product_key.is_none() {
                p("auth", "`mode: product-secret` needs `product_key`".into());
            }
            let secret = match &a.product_secret {
                None => {
                    p("auth", "`mode: product-secret` needs `product_secret` ({ env: NAME } or { file: PATH })".into());
                    return None;
                }
                Some(src) if secret_use == SecretUse::Read => {
                    let secret = read_secret(src, dir, "auth.product_secret", p)?;
                    if let Err(rule) = rules::check_product_secret(secret.expose()) {
                        p("auth.product_secret", rule);
                    }
                    secret
                }
                Some(src) => {
                    secret_form(src, "auth.product_secret", p)?;
                    Secret::new(String::new())
                }
            };
            AuthMode::ProductSecret {
                product_secret: secret,
                register,
            }
        }
        other => {
            p(
                "auth.mode",
                format!(
                    "must be `device-secret` (一机一密) or `product-secret` (一型一密), found {}",
                    rules::shown(other)
                ),
            );
            return None;
        }
    };
    Some(Auth {
        mode,
        product_key: a.product_key.clone(),
        region: a.region.clone(),
        endpoint: a.endpoint.clone(),
        register_via: a.register_via.clone().filter(|v| v == "mqtt"),
    })
}

/// Checks that a secret's source names one place (`env` or `file`),
/// without reading it.
fn secret_form(src: &RawSecretSource, field: &str, p: &mut impl FnMut(&str, String)) -> Option<()> {
    match src {
        RawSecretSource::Inline(_) => Some(()),
        RawSecretSource::From(from) if from.env.is_some() != from.file.is_some() => Some(()),
        RawSecretSource::From(_) => {
            p(field, "give exactly one of `env` and `file`".into());
            None
        }
    }
}

fn read_secret(
    src: &RawSecretSource,
    dir: &Path,
    field: &str,
    p: &mut impl FnMut(&str, String),
) -> Option<Secret> {
    match src {
        // Allowed; `load_lenient` adds a warning for it.
        RawSecretSource::Inline(s) => Some(Secret::new(s.clone())),
        RawSecretSource::From(from) => match (&from.env, &from.file) {
            (Some(name), None) => match std::env::var(name) {
                Ok(v) => Some(Secret::new(v)),
                Err(_) => {
                    p(field, format!("environment variable `{name}` is not set"));
                    None
                }
            },
            (None, Some(file)) => {
                let path = dir.join(file);
                match read_secret_file(&path) {
                    Ok(secret) => Some(secret),
                    Err(rule) => {
                        p(field, rule);
                        None
                    }
                }
            }
            _ => {
                p(field, "give exactly one of `env` and `file`".into());
                None
            }
        },
    }
}

/// The most a secret file may hold: a secret is at most 64 characters, so a
/// few KiB leave room for comments' worth of whitespace and nothing else.
const SECRET_FILE_MAX: u64 = 4096;

/// Reads a secret from a regular file of at most [`SECRET_FILE_MAX`] bytes
/// (never from a device or FIFO, which could feed it forever), without its
/// line ending. The error never holds the file's bytes.
fn read_secret_file(path: &Path) -> std::result::Result<Secret, String> {
    use std::io::Read;
    let f = burnline_io::source::open_regular(path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let mut bytes = zeroize::Zeroizing::new(Vec::new());
    f.take(SECRET_FILE_MAX + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    if bytes.len() as u64 > SECRET_FILE_MAX {
        return Err(format!(
            "`{}` holds more than {SECRET_FILE_MAX} bytes; a secret file holds the secret alone",
            path.display()
        ));
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| format!("`{}` is not UTF-8 text", path.display()))?;
    Ok(Secret::new(text.trim_end_matches(['\n', '\r']).to_owned()))
}
