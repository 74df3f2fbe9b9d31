//! `burnline check`: every rule, nothing written (see `crate::build::check`).

use crate::build::check::check_all;
use crate::cmdline::CheckArgs;
use crate::error::Result;

/// Runs `check`.
pub fn run(args: &CheckArgs) -> Result<()> {
    let (recipe, layout, count) = check_all(&args.recipe, &args.devices.list())?;
    for w in recipe.warning_lines() {
        eprintln!("{w}");
    }
    println!(
        "ok: {} ({} partitions, {} bytes) and {} device(s) in {}",
        recipe.path.display(),
        layout.partitions.len(),
        layout.disk_size,
        count,
        args.devices.devices.display()
    );
    Ok(())
}
