//! `burnline check`: every rule, nothing written (see `burnline_image::build::check`).

use crate::cmdline::CheckArgs;
use burnline_image::build::check::check_all;
use burnline_image::error::{Error, Result};
use burnline_io::{say, show};

/// Runs `check`.
pub fn run(args: &CheckArgs) -> Result<()> {
    let (recipe, layout, count) = check_all(&args.recipe, &args.devices.list())?;
    // What `build` refuses of the recipe's output options before it writes
    // (there, once its flags are applied).
    if let Some(rule) = recipe.output.conflict(layout.disk_size) {
        return Err(Error::invalid(
            recipe.path.display().to_string(),
            "output",
            rule,
        ));
    }
    for w in recipe.warning_lines() {
        say!("{w}");
    }
    if args.json {
        let json = serde_json::json!({
            "ok": true,
            "recipe": recipe.path,
            "partitions": layout.partitions.len(),
            "disk_size": layout.disk_size,
            "devices": count,
            "device_list": args.devices.devices,
            "warnings": recipe.warning_lines(),
        });
        show!("{json}");
        return Ok(());
    }
    show!(
        "ok: {} ({} partitions, {} bytes) and {} device(s) in {}",
        recipe.path.display(),
        layout.partitions.len(),
        layout.disk_size,
        count,
        args.devices.devices.display()
    );
    Ok(())
}
