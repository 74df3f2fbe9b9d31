//! The credentials partition: the on-flash contract a device's bootstrap
//! reads. [`record`] is the two-slot record format (`docs/credential-record.md`),
//! [`payload`] the JSON it carries, and [`partition`] turns a device into the
//! bytes of its credentials partition in the format the recipe asks for.

pub mod partition;
pub mod payload;
pub mod record;
