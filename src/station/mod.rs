//! Station output: the device-independent base image written once
//! (`base.img`), and per device only the bytes that differ from it, as a
//! [`delta`]. A programmer station writes the base, then the delta.

pub mod base_file;
pub mod delta;
pub mod device_delta;
