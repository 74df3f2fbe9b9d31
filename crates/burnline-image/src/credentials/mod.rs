//! The credentials partition: the on-flash contract a device's bootstrap
//! reads. The record format, its JSON and how a reader finds the partition
//! live in `burnline_core::credentials`, shared with the bootstrap;
//! [`partition`] turns a device into the bytes of its credentials partition
//! in the format the recipe asks for.

pub mod partition;
