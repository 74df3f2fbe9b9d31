//! `burnline verify DIR`: re-hashes every output listed in the manifest.

use crate::cmdline::VerifyArgs;
use crate::error::{Error, IoContext, Result};
use crate::io::hash::hash_file;
use crate::manifest::Manifest;
use rayon::prelude::*;

/// Runs `verify`.
pub fn run(args: &VerifyArgs) -> Result<()> {
    let manifest = Manifest::read(&args.dir)?;
    let bad: Vec<String> = manifest
        .devices
        .par_iter()
        .filter_map(|e| {
            let path = args.dir.join(&e.file);
            let got = std::fs::File::open(&path)
                .and_then(|f| {
                    let len = f.metadata()?.len();
                    Ok((len, hash_file(&f)?))
                })
                .at("reading", &path);
            match got {
                Err(err) => Some(format!("{}: {err}", e.file)),
                Ok((len, _)) if len != e.size => {
                    Some(format!("{}: size {len}, manifest says {}", e.file, e.size))
                }
                Ok((_, sha)) if hex::encode(sha) != e.sha256 => {
                    Some(format!("{}: sha256 differs from the manifest", e.file))
                }
                Ok(_) => None,
            }
        })
        .collect();
    for b in &bad {
        eprintln!("error: {b}");
    }
    if bad.is_empty() {
        println!(
            "ok: {} file(s) match {}",
            manifest.devices.len(),
            args.dir.join(crate::manifest::MANIFEST).display()
        );
        Ok(())
    } else {
        Err(Error::Mismatch(bad.len()))
    }
}
