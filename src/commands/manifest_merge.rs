//! `burnline manifest merge`: placeholder.
use crate::cmdline::MergeArgs;
use crate::error::Result;
/// Runs `manifest merge`.
pub fn run(_args: &MergeArgs) -> Result<()> {
    Ok(())
}
