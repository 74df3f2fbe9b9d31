//! Every rule the recipe and the CSV must follow, checked without writing
//! anything: `check` runs this alone, `build` and `flash --recipe` before
//! anything is written.

use crate::device_csv::check::check_devices;
use crate::device_csv::list::DeviceList;
use crate::error::{Error, Result};
use crate::layout::{self, Layout};
use crate::recipe::{self, Recipe};
use std::path::Path;

/// Loads the recipe, plans the layout and checks the CSV, collecting the
/// problems of all three before failing.
pub fn check_all(recipe_path: &Path, devices: &DeviceList) -> Result<(Recipe, Layout, u64)> {
    let (recipe, mut problems) = recipe::load_lenient(recipe_path)?;
    let layout = layout::plan(&recipe);
    let count = check_devices(&recipe, devices);
    match (layout, count) {
        (Ok(layout), Ok(count)) if problems.is_empty() => Ok((recipe, layout, count)),
        (layout, count) => {
            for e in [layout.err(), count.err()].into_iter().flatten() {
                match e {
                    Error::Invalid(mut p) => problems.append(&mut p),
                    other => return Err(other),
                }
            }
            Err(Error::Invalid(problems))
        }
    }
}
