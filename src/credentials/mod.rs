//! The credentials partition: the on-flash contract a device's bootstrap
//! reads. The record format ([`record`]), its JSON ([`payload`]) and how a
//! reader finds the partition ([`locate`]) live in `burnline-core`, shared
//! with the bootstrap; [`partition`] turns a device into the bytes of its
//! credentials partition in the format the recipe asks for.

pub use burnline_core::credentials::{locate, payload, record};
pub mod partition;
