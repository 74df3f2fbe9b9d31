//! `burnline manifest merge DIR... --out DIR`: joins the manifests of shard
//! builds (`build --shard K/N`) into one, in CSV order. Every shard 1..N of
//! the same CSV and recipe must be there exactly once: overlapping, foreign
//! or missing slices are refused. Files are hard-linked (or copied) into the
//! output directory unless they are already there, so `sha256sum -c
//! SHA256SUMS` (or `b3sum -c B3SUMS`) passes in it. All shards must list
//! their files with the same checksum kind. With `--pubkey KEY` each
//! shard's signatures are checked when it has them, and with
//! `--require-signed` a shard without them is refused; with `--sign KEY`
//! the merged checksum list and manifest are signed.

use crate::cmdline::MergeArgs;
use burnline_image::error::{Error, IoContext, Result};
use burnline_image::manifest::files::{Header, ShardInfo};
use burnline_image::manifest::signed::read_verified;
use burnline_image::manifest::{Entry, Manifest, ManifestWriter, MANIFEST};
use burnline_image::signing::verify::VerifyingKey;
use burnline_image::signing::SIG_SUFFIX;
use burnline_io::hash::DigestKind;
use burnline_io::{atomic, say};
use std::collections::HashSet;
use std::path::Path;

/// Runs `manifest merge`.
pub fn run(args: &MergeArgs) -> Result<()> {
    let sign = args.sign.load()?;
    let pubkey = args.pubkey.as_deref().map(VerifyingKey::load).transpose()?;
    let mut shards: Vec<(&Path, Manifest)> = Vec::new();
    for d in &args.dirs {
        let signed = d.join(format!("{MANIFEST}{SIG_SUFFIX}")).exists();
        let m = match &pubkey {
            Some(key) if signed || args.require_signed => read_verified(d, key)?,
            _ => Manifest::read(d)?,
        };
        shards.push((d.as_path(), m));
    }
    let s0 = check_slices(&shards)?;
    let refuse = |why: String| Err(Error::Usage(format!("manifest merge: {why}")));
    let first = &shards[0].1;
    let kind = merged_kind(&shards)?;
    let mut entries: Vec<(&Path, &Entry)> = shards
        .iter()
        .flat_map(|(d, m)| m.devices.iter().map(move |e| (*d, e)))
        .collect();
    entries.sort_by_key(|(_, e)| e.artifacts.row);
    let mut names = HashSet::new();
    for (_, e) in &entries {
        if !names.insert(&e.device_name) {
            return refuse(format!(
                "device {} is in more than one shard",
                e.device_name
            ));
        }
    }
    std::fs::create_dir_all(&args.out).at("creating", &args.out)?;
    let header = Header {
        shard: None,
        ..first.header.clone()
    };
    for f in header.files() {
        place(shards[0].0, &args.out, &f.file)?;
    }
    for (dir, e) in &entries {
        place(dir, &args.out, &e.file)?;
        for f in &e.artifacts.extra_files {
            place(dir, &args.out, &f.file)?;
        }
    }
    let mut w = ManifestWriter::create_with(&args.out, &first.recipe, &header, kind)?;
    for (_, e) in &entries {
        w.push(e)?;
    }
    w.finish()?;
    if let Some(key) = &sign {
        burnline_image::signing::sign_file(key, &args.out, kind.sums_file())?;
        burnline_image::signing::sign_file(key, &args.out, MANIFEST)?;
    }
    say!(
        "burnline: merged {} shard(s), {} device(s), into {}",
        s0.count,
        entries.len(),
        args.out.display()
    );
    Ok(())
}

/// Checks that the shards are slices of one fleet (same shard count, CSV
/// rows, recipe, mode and base), each given once, none missing, each
/// device in its own slice; returns the first shard's slice.
fn check_slices(shards: &[(&Path, Manifest)]) -> Result<ShardInfo> {
    let refuse = |why: String| Err(Error::Usage(format!("manifest merge: {why}")));
    let first = &shards[0].1;
    let Some(s0) = first.header.shard else {
        return refuse(format!(
            "{} was not built with --shard",
            shards[0].0.display()
        ));
    };
    let mut seen = vec![None; s0.count as usize];
    for (dir, m) in shards {
        let Some(s) = m.header.shard else {
            return refuse(format!("{} was not built with --shard", dir.display()));
        };
        if (s.count, s.rows) != (s0.count, s0.rows)
            || m.recipe != first.recipe
            || m.header.mode != first.header.mode
        {
            return refuse(format!(
                "{} is a slice of another fleet (shard count, CSV rows, recipe or mode differ)",
                dir.display()
            ));
        }
        if m.header.base.as_ref().map(|b| &b.sum) != first.header.base.as_ref().map(|b| &b.sum) {
            return refuse(format!(
                "{}: its base.img differs from the other shards'",
                dir.display()
            ));
        }
        match &mut seen[(s.index - 1) as usize] {
            Some(other) => {
                return refuse(format!(
                    "shard {}/{} is given twice ({} and {})",
                    s.index,
                    s.count,
                    dir.display(),
                    other
                ))
            }
            slot => *slot = Some(dir.display().to_string()),
        }
        if let Some(e) = m
            .devices
            .iter()
            .find(|e| e.artifacts.row.is_none_or(|r| r % s.count != s.index - 1))
        {
            return refuse(format!(
                "{}: device {} is not in shard {}/{}",
                dir.display(),
                e.device_name,
                s.index,
                s.count
            ));
        }
    }
    let missing: Vec<String> = (1..=s0.count)
        .filter(|k| seen[(*k - 1) as usize].is_none())
        .map(|k| format!("{k}/{}", s0.count))
        .collect();
    if !missing.is_empty() {
        return refuse(format!("shard(s) {} missing", missing.join(", ")));
    }
    Ok(s0)
}

/// The one checksum kind every shard lists its files with (SHA-256 when
/// none lists any file); shards built with different `--digest` are refused.
fn merged_kind(shards: &[(&Path, Manifest)]) -> Result<DigestKind> {
    let mut found: Option<(DigestKind, &Path)> = None;
    for (dir, m) in shards {
        for k in m.digest_kinds() {
            match found {
                None => found = Some((k, dir)),
                Some((f, first)) if f != k => {
                    return Err(Error::Usage(format!(
                        "manifest merge: {} lists {} checksums but {} lists {}; build every shard with the same --digest",
                        first.display(),
                        f.name(),
                        dir.display(),
                        k.name()
                    )))
                }
                Some(_) => {}
            }
        }
    }
    Ok(found.map_or(DigestKind::Sha256, |(k, _)| k))
}

/// Links (or copies) `dir/name` into `out` unless it is the same file. A
/// copy (the shards on another file system) is made under a temp name and
/// renamed into place once synced, so a crash never leaves a half-copied
/// image under its final name.
fn place(dir: &Path, out: &Path, name: &str) -> Result<()> {
    let (src, dst) = (dir.join(name), out.join(name));
    if std::fs::canonicalize(&src).ok() == std::fs::canonicalize(&dst).ok() {
        return Ok(());
    }
    let _ = std::fs::remove_file(&dst);
    if std::fs::hard_link(&src, &dst).is_err() {
        let tmp = atomic::temp_path(&dst)?;
        let copied = std::fs::copy(&src, &tmp)
            .at("copying", &src)
            .and_then(|_| std::fs::File::open(&tmp).at("syncing", &tmp));
        let f = match copied {
            Ok(f) => f,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        };
        burnline_io::crash_point!("merge-after-copy");
        atomic::place(&f, &tmp, &dst)?;
    }
    Ok(atomic::sync_dir(out)?)
}
