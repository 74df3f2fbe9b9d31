//! Dynamic registration (一型一密) on the host: trading a ProductSecret and a
//! DeviceName for the device's DeviceSecret, once. The client itself lives
//! in `burnline_core::registration`, shared with the device-side bootstrap.
//! [`registrations_log`] keeps every issued secret durable before use
//! (`registrations.jsonl`), and [`host`] is the registration a `build` makes
//! for its devices.

pub mod host;
pub mod registrations_log;
