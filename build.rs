//! Build script: puts the commit this binary is built from into
//! `BURNLINE_COMMIT` (`git rev-parse --short HEAD`), which `--version`
//! prints beside the version. Outside a git checkout of this repository
//! (a source tarball, a crates.io download, no git installed) it is
//! `unknown`. The value depends only on the checked-out commit, never on
//! the time or the machine, so builds stay reproducible; it is recomputed
//! when HEAD or the branch it points to moves.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let commit = commit(&dir).unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=BURNLINE_COMMIT={commit}");
    println!("cargo:rerun-if-changed=build.rs");
    for p in ["HEAD", "packed-refs"] {
        watch(&dir, &["rev-parse", "--git-path", p]);
    }
    if let Some(branch) = git(&dir, &["symbolic-ref", "-q", "HEAD"]) {
        watch(&dir, &["rev-parse", "--git-path", &branch]);
    }
}

/// The short commit hash, if `dir` is the top of a git work tree.
fn commit(dir: &Path) -> Option<String> {
    let top = git(dir, &["rev-parse", "--show-toplevel"])?;
    // A crate unpacked inside some other repository is not that commit.
    if std::fs::canonicalize(top).ok()? != std::fs::canonicalize(dir).ok()? {
        return None;
    }
    git(dir, &["rev-parse", "--short=12", "HEAD"])
}

/// Reruns this script when the git file `args` names changes.
fn watch(dir: &Path, args: &[&str]) {
    if let Some(path) = git(dir, args) {
        let path = dir.join(path);
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}

/// `git ARGS` in `dir`: its first line of output, if it succeeded.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    let line = String::from_utf8(out.stdout)
        .ok()?
        .lines()
        .next()?
        .trim()
        .to_owned();
    (out.status.success() && !line.is_empty()).then_some(line)
}
