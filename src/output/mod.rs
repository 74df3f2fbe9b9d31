//! Writing outputs: one device's image ([`device`]), the run's artifacts
//! ([`artifacts`]), compression ([`compress`]), staged temp files
//! ([`staged`]) and progress reporting ([`progress`]).

pub mod artifacts;
pub mod compress;
pub mod device;
pub mod progress;
pub mod staged;
