//! The device side: what `burnline-bootstrap` does at every boot. It finds
//! the credentials partition ([`locate`]), reads and checks the active record
//! ([`validate`]), and in 一型一密 stores the registered triple in the other
//! slot so that power loss can never destroy the only copy ([`store`]).
//!
//! Nothing here builds images: the bootstrap binary links only this module,
//! the record format, the registration client and their small dependencies.

pub mod exit;
pub mod handoff;
pub mod locate;
pub mod run;
pub mod store;
pub mod validate;
