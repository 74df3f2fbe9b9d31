//! `burnline inspect IMAGE`: the partition table (kind, GUIDs, partitions)
//! and the decoded credential record. Secrets show as `<redacted>` unless
//! `--reveal-secrets` is given. A table whose partitions overlap, two
//! partitions holding credentials, or a credentials partition whose name
//! another partition shares is refused (exit 2), as the bootstrap refuses
//! it: a device would otherwise take whichever comes first.

use crate::cmdline::InspectArgs;
use burnline_core::credentials::payload::Credentials;
use burnline_core::credentials::record::{Slot, SlotId, Slots};
use burnline_core::table::{self, EntryKind, Kind, TableError};
use burnline_image::error::{Error, IoContext, Result};
use burnline_image::recipe::part_type::gpt_type_name;
use burnline_io::show;
use burnline_io::window::Window;
use serde_json::{json, Value};
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// A partition as found on the image.
struct Found {
    name: String,
    start: u64,
    size: u64,
    type_name: String,
    guid: Option<String>,
}

/// Runs `inspect`.
pub fn run(args: &InspectArgs) -> Result<()> {
    let path = &args.image;
    let file = File::open(path).at("opening", path)?;
    let (kind, disk_id, parts) = read_table(&file, path)?;
    let mut found = Vec::new();
    for p in &parts {
        if let Some(c) = read_credentials(&file, p, &args.credentials_path)? {
            found.push((p, c));
        }
    }
    let mut creds_out = Value::Null;
    match found.as_slice() {
        [] => {}
        [(p, c)] => {
            let named = parts.iter().filter(|q| q.name == p.name).count();
            if named > 1 {
                return Err(Error::invalid(
                    path.display().to_string(),
                    "",
                    format!(
                        "{named} partitions are named `{}`, the credentials partition's name: a device looking \
                         it up by name would take the first; the name must be unique",
                        p.name
                    ),
                ));
            }
            creds_out = credentials_json(&c.0, &c.1, args.reveal_secrets);
            creds_out["partition"] = json!(p.name);
        }
        many => {
            let names: Vec<String> = many.iter().map(|(p, _)| format!("`{}`", p.name)).collect();
            return Err(Error::invalid(
                path.display().to_string(),
                "",
                format!(
                    "{} partitions hold credentials ({}): a device would take the first; an image has one \
                     credentials partition",
                    many.len(),
                    names.join(", ")
                ),
            ));
        }
    }
    let parts_json: Vec<Value> = parts
        .iter()
        .map(|p| json!({"name": p.name, "start": p.start, "size": p.size, "type": p.type_name, "guid": p.guid}))
        .collect();
    let doc = json!({"table": kind, "disk_id": disk_id, "partitions": parts_json, "credentials": creds_out});
    if args.json {
        show!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        return Ok(());
    }
    show!("table: {kind}  disk: {disk_id}");
    for p in &parts {
        show!(
            "  {:<16} start {:>12}  size {:>12}  type {:<12} {}",
            p.name,
            p.start,
            p.size,
            p.type_name,
            p.guid.as_deref().unwrap_or("")
        );
    }
    match &doc["credentials"] {
        Value::Null => show!("credentials: none found"),
        c => {
            show!(
                "credentials: in partition `{}` ({})",
                c["partition"].as_str().unwrap_or(""),
                c["format"].as_str().unwrap_or("")
            );
            for key in [
                "slot",
                "sequence",
                "damaged",
                "product_key",
                "device_name",
                "device_secret",
                "product_secret",
                "region",
                "endpoint",
            ] {
                if let Some(v) = c.get(key).filter(|v| !v.is_null()) {
                    let shown = v
                        .as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| v.to_string());
                    show!("  {key}: {shown}");
                }
            }
        }
    }
    Ok(())
}

fn read_table(file: &File, path: &Path) -> Result<(String, String, Vec<Found>)> {
    let mut dev = file.try_clone().at("opening", path)?;
    let t = table::read(&mut dev).map_err(|e| match e {
        TableError::Io(source) => Error::Io {
            context: format!("reading {}", path.display()),
            source,
        },
        other => Error::invalid(path.display().to_string(), "", other.to_string()),
    })?;
    let parts = t
        .partitions
        .into_iter()
        .map(|p| match p.kind {
            EntryKind::Gpt { type_guid, guid } => Found {
                name: p.name,
                start: p.start,
                size: p.size,
                type_name: gpt_type_name(&type_guid),
                guid: Some(guid.to_string()),
            },
            EntryKind::Mbr { sys } => Found {
                name: format!("{}", p.number),
                start: p.start,
                size: p.size,
                type_name: format!("0x{sys:02x}"),
                guid: None,
            },
        })
        .collect();
    Ok(match t.kind {
        Kind::Gpt { disk_guid } => ("gpt".into(), disk_guid.to_string(), parts),
        Kind::Mbr { disk_signature } => ("mbr".into(), format!("{disk_signature:08x}"), parts),
    })
}

/// (credentials, where: slot and sequence or the FAT file)
type Decoded = (Credentials, Value);

fn read_credentials(file: &File, p: &Found, fat_path: &str) -> Result<Option<Decoded>> {
    let mut magic = [0u8; 8];
    let at_a = file.read_exact_at(&mut magic, p.start).is_ok()
        && &magic == burnline_core::record_magic::MAGIC;
    let at_b = file.read_exact_at(&mut magic, p.start + p.size / 2).is_ok()
        && &magic == burnline_core::record_magic::MAGIC;
    if at_a || at_b {
        // The table reader placed the partition inside the file: no sum overflows.
        let slots = Slots::read_from(|buf, at| file.read_exact_at(buf, p.start + at), p.size)
            .with_context(|| format!("reading partition `{}`", p.name))?;
        // As the device chooses: the highest sequence (A on a tie) among the
        // slots whose payload is also the record's JSON (rule 7).
        let mut valid: Vec<(SlotId, &Slot)> = [(SlotId::A, &slots.a), (SlotId::B, &slots.b)]
            .into_iter()
            .filter_map(|(id, s)| s.as_ref().ok().map(|s| (id, s)))
            .collect();
        valid.sort_by_key(|(id, s)| (std::cmp::Reverse(s.sequence), *id == SlotId::B));
        let mut refused = None;
        for (id, slot) in valid {
            match Credentials::from_json(&slot.payload) {
                Ok(creds) => {
                    let mut how = json!({"format": "record", "slot": format!("{id:?}"), "sequence": slot.sequence});
                    if let Some((bad, e)) = &refused {
                        how["damaged"] =
                            json!(format!("slot {bad:?}: its checksum holds, but {e}"));
                    }
                    return Ok(Some((creds, how)));
                }
                Err(e) if refused.is_none() => refused = Some((id, e)),
                Err(_) => {}
            }
        }
        if let Some((id, e)) = refused {
            return Err(Error::invalid(
                format!("partition `{}`", p.name),
                "payload",
                format!("slot {id:?}: {e}"),
            ));
        }
        return Ok(Some((
            empty_creds(),
            json!({"format": "record", "error": "no valid slot"}),
        )));
    }
    let mut boot = [0u8; 512];
    if file.read_exact_at(&mut boot, p.start).is_err() || boot[510..512] != [0x55, 0xAA] {
        return Ok(None);
    }
    let mut w = Window::new(file, p.start, p.size);
    let Ok(fs) = fatfs::FileSystem::new(&mut w, fatfs::FsOptions::new()) else {
        return Ok(None);
    };
    let Ok(mut f) = fs.root_dir().open_file(fat_path) else {
        return Ok(None);
    };
    let mut json_bytes = zeroize::Zeroizing::new(Vec::new());
    f.read_to_end(&mut json_bytes)
        .with_context(|| format!("reading /{fat_path} in partition `{}`", p.name))?;
    let creds = Credentials::from_json(&json_bytes).map_err(|e| {
        Error::invalid(format!("partition `{}`: /{fat_path}", p.name), "payload", e)
    })?;
    Ok(Some((
        creds,
        json!({"format": "fat", "path": format!("/{fat_path}")}),
    )))
}

fn empty_creds() -> Credentials {
    Credentials {
        product_key: String::new(),
        device_name: String::new(),
        device_secret: None,
        product_secret: None,
        region: None,
        endpoint: None,
        keep_product_secret: false,
        register_via: None,
    }
}

fn credentials_json(c: &Credentials, how: &Value, reveal: bool) -> Value {
    let secret = |s: &Option<burnline_core::secret::Secret>| match s {
        None => Value::Null,
        Some(s) if reveal => json!(s.expose()),
        Some(_) => json!("<redacted>"),
    };
    let mut v = json!({
        "product_key": c.product_key,
        "device_name": c.device_name,
        "device_secret": secret(&c.device_secret),
        "product_secret": secret(&c.product_secret),
        "region": c.region,
        "endpoint": c.endpoint,
        "register_via": c.register_via,
    });
    if let (Value::Object(dst), Value::Object(src)) = (&mut v, how) {
        for (k, val) in src {
            dst.insert(k.clone(), val.clone());
        }
    }
    v
}
