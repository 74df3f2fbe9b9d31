//! Dynamic registration (一型一密) on the host: trading a ProductSecret and a
//! DeviceName for the device's DeviceSecret, once.
//!
//! The client and its parts ([`sign`], [`form`], [`random`], [`endpoint`],
//! [`error`], [`client`], [`mqtt`], [`mqtt_transport`], [`mqtt_login`]) live in `burnline-core`, shared with the
//! device-side bootstrap, and are re-exported here. [`ledger`] keeps every
//! issued secret durable before use, and [`host`] is the station's
//! registration for `build`.

pub use burnline_core::registration::{
    client, endpoint, error, form, mqtt, mqtt_login, mqtt_transport, random, sign,
};
pub mod host;
pub mod ledger;
