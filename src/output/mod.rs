//! Writing outputs: one device's image ([`device`]), the run's artifacts
//! ([`artifacts`]: bmap and compression), compression ([`compress`]),
//! Android sparse images ([`sparse`]), progress reporting ([`progress`])
//! and lines on the terminal that a closed pipe cannot crash ([`console`]).

pub mod artifacts;
pub mod compress;
pub mod console;
pub mod device;
pub mod progress;
pub mod sparse;
