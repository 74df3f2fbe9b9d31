//! `burnline verify DIR`: re-hashes every file the manifest lists (device
//! outputs, their side files such as bmaps, and a delta set's base image and
//! its bmap) and compares size and checksum (SHA-256 or BLAKE3, whichever
//! the manifest lists). With `--pubkey KEY` the signatures of the manifest
//! and of the checksum list are checked first (`burnline_image::manifest::signed`):
//! a bad signature stops it before any file is hashed (exit 2). With
//! `--json` the result goes to stdout as the object docs/json.md describes,
//! mismatches included (exit 1 all the same).

use crate::cmdline::VerifyArgs;
use burnline_image::error::{Error, IoContext, Result};
use burnline_image::manifest::files::{FileSum, Sum};
use burnline_image::manifest::signed::read_verified;
use burnline_image::manifest::Manifest;
use burnline_image::signing::verify::VerifyingKey;
use burnline_io::hash::hash_file;
use burnline_io::{say, show};
use rayon::prelude::*;

/// Every file the manifest vouches for.
fn listed(m: &Manifest) -> Vec<FileSum> {
    let mut files: Vec<FileSum> = m
        .header
        .base
        .iter()
        .chain(&m.header.base_bmap)
        .cloned()
        .collect();
    for e in &m.devices {
        files.push(FileSum {
            file: e.file.clone(),
            size: e.size,
            sum: e.sum.clone(),
        });
        files.extend(e.artifacts.extra_files.iter().cloned());
    }
    files
}

/// Runs `verify`.
pub fn run(args: &VerifyArgs) -> Result<()> {
    let manifest = match &args.pubkey {
        Some(k) => {
            let key = VerifyingKey::load(k)?;
            let m = read_verified(&args.dir, &key)?;
            say!(
                "ok: {} and its checksum list are signed by {}",
                args.dir.join(burnline_image::manifest::MANIFEST).display(),
                k.display()
            );
            m
        }
        None => Manifest::read(&args.dir)?,
    };
    let files = listed(&manifest);
    let bad: Vec<(String, String)> = files
        .par_iter()
        .filter_map(|e| {
            let path = args.dir.join(&e.file);
            let got = std::fs::File::open(&path)
                .and_then(|f| {
                    let len = f.metadata()?.len();
                    Ok((len, hash_file(&f, e.sum.kind())?))
                })
                .at("reading", &path);
            match got {
                Err(err) => Some(err.to_string()),
                Ok((len, _)) if len != e.size => {
                    Some(format!("size {len}, manifest says {}", e.size))
                }
                Ok((_, digest)) if Sum::new(e.sum.kind(), &digest) != e.sum => {
                    Some(format!("{} differs from the manifest", e.sum.kind().name()))
                }
                Ok(_) => None,
            }
            .map(|why| (e.file.clone(), why))
        })
        .collect();
    for (file, why) in &bad {
        say!("error: {file}: {why}");
    }
    let manifest_path = args.dir.join(burnline_image::manifest::MANIFEST);
    if args.json {
        let mismatches: Vec<_> = bad
            .iter()
            .map(|(file, why)| serde_json::json!({ "file": file, "problem": why }))
            .collect();
        let json = serde_json::json!({
            "ok": bad.is_empty(),
            "manifest": manifest_path,
            "files": files.len(),
            "signed_by": args.pubkey,
            "mismatches": mismatches,
        });
        show!("{json}");
    } else if bad.is_empty() {
        show!(
            "ok: {} file(s) match {}",
            files.len(),
            manifest_path.display()
        );
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(Error::Mismatch(bad.len()))
    }
}
