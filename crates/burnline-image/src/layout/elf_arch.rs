//! The check that a FAT volume's programs can run on the device: with
//! `disk.arch` in the recipe, every file the volume will hold that is an
//! ELF object (it starts with `\x7fELF`) must name that architecture in its
//! header. A burned image whose bootstrap can never run is the costliest
//! mistake a line can make, so `check` (and `build`, `flash --recipe`)
//! refuse it, naming the file and both architectures.
//!
//! Only the ELF identification and `e_machine` are read (the first 20
//! bytes, fixed by the ELF specification): the class (32 or 64 bits) and the
//! byte order come from `e_ident`, the machine from bytes 18–19.

use crate::recipe::arch::Arch;
use burnline_fat::tree::{Data, Kind, Tree};
use std::io::Read;
use std::path::Path;

/// What an ELF header says, read from `path`: `None` when the file is not
/// ELF (or shorter than a header); the class and machine otherwise.
fn elf_machine(path: &Path) -> std::io::Result<Option<(u8, u16)>> {
    let mut head = [0u8; 20];
    let mut f = std::fs::File::open(path)?;
    let mut got = 0;
    while got < head.len() {
        match f.read(&mut head[got..])? {
            0 => return Ok(None),
            n => got += n,
        }
    }
    if &head[..4] != b"\x7fELF" {
        return Ok(None);
    }
    let machine = [head[18], head[19]];
    let machine = match head[5] {
        2 => u16::from_be_bytes(machine),
        _ => u16::from_le_bytes(machine),
    };
    Ok(Some((head[4], machine)))
}

/// How an ELF class and machine read in a message.
fn describe(class: u8, machine: u16) -> String {
    match Arch::from_elf(class, machine) {
        Some(a) => a.to_string(),
        None => format!(
            "ELF machine {machine} ({}-bit)",
            if class == 2 { 64 } else { 32 }
        ),
    }
}

/// The rules the volume's ELF files break for `arch`, one a file: the
/// file's path in the volume, its host path and both architectures.
pub fn check(tree: &Tree<'_>, arch: Arch) -> Vec<String> {
    let mut broken = Vec::new();
    for dir in tree.dirs() {
        for e in &dir.entries {
            let Kind::File(Data::Host { path, .. }) = &e.kind else {
                continue;
            };
            let in_volume = if dir.path.is_empty() {
                format!("/{}", e.name)
            } else {
                format!("/{}/{}", dir.path, e.name)
            };
            match elf_machine(path) {
                Ok(Some((class, machine))) if (class, machine) != arch.elf() => {
                    broken.push(format!(
                        "`{in_volume}` (from `{}`) is built for {}, but disk.arch is {arch}: the device could never run it",
                        path.display(),
                        describe(class, machine)
                    ))
                }
                Ok(_) => {}
                Err(e) => broken.push(format!(
                    "`{in_volume}` (from `{}`) cannot be read to check its architecture: {e}",
                    path.display()
                )),
            }
        }
    }
    broken
}
