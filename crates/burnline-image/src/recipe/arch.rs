//! `disk.arch`: the architecture the device runs, and the ELF machine that
//! an executable built for it names in its header.

use std::fmt;

/// A device architecture a recipe can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// 64-bit ARM (`aarch64-unknown-linux-gnu`).
    Aarch64,
    /// 32-bit ARM, hard float (`armv7-unknown-linux-gnueabihf`).
    Armv7,
    /// 64-bit x86 (`x86_64-unknown-linux-gnu`).
    X86_64,
}

impl Arch {
    /// The recipe's spellings, for messages.
    pub const NAMES: &'static str = "`aarch64`, `armv7` or `x86_64`";

    /// The architecture a recipe names, if it is one.
    pub fn parse(s: &str) -> Option<Arch> {
        match s {
            "aarch64" => Some(Arch::Aarch64),
            "armv7" => Some(Arch::Armv7),
            "x86_64" => Some(Arch::X86_64),
            _ => None,
        }
    }

    /// The ELF class (1: 32-bit, 2: 64-bit) and machine (`e_machine`) of
    /// its executables.
    pub fn elf(self) -> (u8, u16) {
        match self {
            Arch::Aarch64 => (2, 183),
            Arch::Armv7 => (1, 40),
            Arch::X86_64 => (2, 62),
        }
    }

    /// The architecture an ELF class and machine stand for, if it is one
    /// of ours.
    pub fn from_elf(class: u8, machine: u16) -> Option<Arch> {
        [Arch::Aarch64, Arch::Armv7, Arch::X86_64]
            .into_iter()
            .find(|a| a.elf() == (class, machine))
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Arch::Aarch64 => "aarch64",
            Arch::Armv7 => "armv7",
            Arch::X86_64 => "x86_64",
        })
    }
}
