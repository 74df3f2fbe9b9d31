//! Several targets written at once, one thread each: [`flash_one`] writes
//! and verifies one target (saying first how many bytes the image has),
//! [`join_all`] waits for the writers (a panicked writer is a failed
//! target, never a crash of the station: each writer thread is marked with
//! `burnline_io::internal_error::contain_thread`), and [`report`] prints one line
//! per target and fails if any failed.

use super::source::Source;
use super::target;
use super::write::{self, Expect};
use burnline_image::error::{Error, Result};
use burnline_image::manifest::files::Sum;
use burnline_io::say;
use std::path::{Path, PathBuf};

/// What happened on one target.
pub struct Outcome {
    /// The target.
    pub target: PathBuf,
    /// The written image's digest and the bytes skipped, or the error.
    pub result: Result<(Sum, u64)>,
}

/// Writes and verifies one target (`large_file`: a file target may grow
/// past [`target::FILE_GROWTH_LIMIT`]); the image's digest is of the kind
/// `exp` expects (SHA-256 when it expects none).
pub fn flash_one(
    src: &Source,
    exp: &Expect,
    path: &Path,
    large_file: bool,
    on_written: impl FnOnce(&Sum) -> Result<()>,
) -> Result<(Sum, u64)> {
    let t = target::open_with(path, src.size, large_file)?;
    // Said before the first byte: a huge image is seen, not just waited for.
    say!(
        "burnline: {}: writing {} bytes ({}) to it",
        path.display(),
        src.size,
        indicatif::HumanBytes(src.size)
    );
    let w = write::write(src, exp, &t)?;
    let digest = Sum::new(exp.image_kind(), &w.image_digest);
    on_written(&digest)?;
    write::verify(&t, &w)?;
    Ok((digest, w.skipped))
}

/// Runs the jobs in parallel, one thread each.
pub fn run_all(jobs: Vec<(&Source, &Expect, &Path)>, large_file: bool) -> Vec<Outcome> {
    std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .into_iter()
            .map(|(src, exp, t)| {
                (
                    t,
                    s.spawn(move || {
                        burnline_io::internal_error::contain_thread();
                        flash_one(src, exp, t, large_file, |_| Ok(()))
                    }),
                )
            })
            .collect();
        join_all(handles)
    })
}

/// A writer thread: the written image's digest and the bytes skipped.
pub type Writer<'scope> = std::thread::ScopedJoinHandle<'scope, Result<(Sum, u64)>>;

/// Waits for every writer thread; one that panicked is a failed target.
pub fn join_all(handles: Vec<(&Path, Writer<'_>)>) -> Vec<Outcome> {
    handles
        .into_iter()
        .map(|(t, h)| Outcome {
            target: t.to_path_buf(),
            result: h.join().unwrap_or_else(|_| {
                Err(Error::Usage(format!(
                    "target {}: the writer stopped on an internal error (the line above); the card is not good",
                    t.display()
                )))
            }),
        })
        .collect()
}

/// Prints one line per target; fails if any target failed.
pub fn report(outcomes: Vec<Outcome>) -> Result<()> {
    let total = outcomes.len();
    let mut errors = Vec::new();
    for o in outcomes {
        match o.result {
            Ok((sum, skipped)) => say!(
                "ok: {}: written and verified, {} {} ({skipped} bytes of holes skipped)",
                o.target.display(),
                sum.kind().name(),
                sum.hex()
            ),
            Err(e) => errors.push(e),
        }
    }
    match errors.len() {
        0 => Ok(()),
        1 if total == 1 => Err(errors.remove(0)),
        n => {
            for e in &errors {
                say!("error: {e}");
            }
            Err(Error::TargetsFailed { failed: n, total })
        }
    }
}
