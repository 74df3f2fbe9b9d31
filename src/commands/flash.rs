//! `burnline flash`: placeholder.
use crate::cmdline::FlashArgs;
use crate::error::Result;
/// Runs `flash`.
pub fn run(_args: &FlashArgs) -> Result<()> {
    Ok(())
}
