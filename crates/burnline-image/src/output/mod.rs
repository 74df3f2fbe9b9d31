//! Writing outputs: one device's image ([`device`]), the run's artifacts
//! ([`artifacts`]: bmap and compression), compression ([`compress`]),
//! Android sparse images ([`sparse`]), a device's output file names
//! ([`names`]), outputs waiting under temp names ([`staged`]) and progress
//! reporting ([`progress`]); lines on the terminal that a closed pipe cannot
//! crash are `burnline_io::console`. Writers are handed names, paths and
//! patches, and return what they wrote; they never call back into
//! `crate::job`.

pub mod artifacts;
pub mod compress;
pub mod device;
pub mod names;
pub mod progress;
pub mod sparse;
pub mod staged;
