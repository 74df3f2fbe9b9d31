//! `burnline generate completions|man DIR` (hidden): the shell completions
//! and man pages a package ships, made from the command line's clap
//! definition (`clap_complete`, `clap_mangen`), so they cannot drift from
//! it. Each file is written crash-safe (temp, fsync, rename) with mode 0644.
//! `burnline generate exit-codes` prints docs/exit-codes.md, made from the
//! exit map (`crate::exit`).

use crate::cmdline::{Cli, GenerateCommand};
use burnline_image::error::{IoContext, Result};
use burnline_io::atomic;
use clap::CommandFactory;
use clap_complete::{Generator, Shell};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The shells completions are written for.
const SHELLS: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

/// Runs `burnline generate …`.
pub fn run(command: &GenerateCommand) -> Result<()> {
    let (dir, files) = match command {
        GenerateCommand::Completions(a) => (&a.dir, completions()),
        GenerateCommand::Man(a) => (&a.dir, man_pages()?),
        GenerateCommand::ExitCodes => {
            let mut out = std::io::stdout().lock();
            return out
                .write_all(crate::exit::page().as_bytes())
                .and_then(|()| out.flush())
                .with_context(|| "writing the exit-code page to stdout".into());
        }
    };
    std::fs::create_dir_all(dir).at("creating", dir)?;
    for (name, bytes) in &files {
        write_public(&dir.join(name), bytes)?;
    }
    burnline_io::say!(
        "generate: wrote {} file(s) to {}",
        files.len(),
        dir.display()
    );
    Ok(())
}

/// One completion script per shell: `burnline.bash`, `_burnline`,
/// `burnline.fish`.
fn completions() -> Vec<(String, Vec<u8>)> {
    SHELLS
        .iter()
        .map(|shell| {
            let mut bytes = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "burnline", &mut bytes);
            (shell.file_name("burnline"), bytes)
        })
        .collect()
}

/// `burnline.1`, and `burnline-SUB.1` for every visible subcommand at any
/// depth (as `clap_mangen::generate_to` names them).
fn man_pages() -> Result<Vec<(String, Vec<u8>)>> {
    fn walk(cmd: clap::Command, out: &mut Vec<(String, Vec<u8>)>) -> Result<()> {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned() {
            walk(sub, out)?;
        }
        let man = clap_mangen::Man::new(cmd);
        let mut bytes = Vec::new();
        man.render(&mut bytes)
            .with_context(|| format!("rendering {}", man.get_filename()))?;
        out.push((man.get_filename(), bytes));
        Ok(())
    }
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut out = Vec::new();
    walk(cmd, &mut out)?;
    Ok(out)
}

/// Writes `bytes` to `path` crash-safe ([`atomic::write_file`]), then makes
/// it readable by all (0644): a crash in between leaves a complete file of
/// mode 0600, which the next run replaces.
fn write_public(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = atomic::temp_path(path)?;
    let mut f = atomic::create_temp(&tmp)?;
    let written = f
        .set_permissions(std::fs::Permissions::from_mode(0o644))
        .and_then(|()| f.write_all(bytes))
        .at("writing", &tmp);
    if let Err(e) = written {
        drop(f);
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(atomic::commit(&f, &tmp, path)?)
}
