//! Writing outputs: safe file names ([`naming`]), crash-safe files
//! ([`atomic`]), one device's image ([`device`]) and progress reporting
//! ([`progress`]).

pub mod artifacts;
pub mod atomic;
pub mod compress;
pub mod device;
pub mod naming;
pub mod progress;
pub mod staged;
