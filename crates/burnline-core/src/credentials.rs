//! The credentials partition as a device reads it. [`record`] is the
//! two-slot record format (`docs/credential-record.md`), [`payload`] the JSON
//! it carries, [`capacity`] the largest slot a device's record can need, and
//! [`locate`] finds the partition on a disk by GPT name, MBR number or
//! explicit bytes.

pub mod capacity;
pub mod locate;
pub mod payload;
pub mod record;
