//! Writing outputs: one device's image ([`device`]), the run's artifacts
//! ([`artifacts`]: bmap and compression), compression ([`compress`]),
//! Android sparse images ([`sparse`]) and progress reporting ([`progress`]);
//! lines on the terminal that a closed pipe cannot crash are
//! `burnline_io::console`.

pub mod artifacts;
pub mod compress;
pub mod device;
pub mod progress;
pub mod sparse;
