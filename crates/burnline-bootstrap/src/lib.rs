//! The device side: what `burnline-bootstrap` does at every boot. It finds
//! the credentials partition (`burnline_core::credentials::locate`), reads
//! and checks the active record ([`validate`]), and in 一型一密 registers once
//! and stores the triple in the other slot so that power loss can never
//! destroy the only copy, then copies it into the first slot too so that
//! one damaged slot cannot lose it ([`store`]); then it hands the triple to
//! the edge service ([`handoff`]). [`run`] is the program, [`cmdline`] its clap types
//! and [`exit`] its exit codes.
//!
//! This crate depends on `burnline-core` and never on the host crates, so the
//! bootstrap cannot link image-building code.

pub mod cmdline;
pub mod exit;
pub mod handoff;
pub mod run;
pub mod store;
pub mod validate;
