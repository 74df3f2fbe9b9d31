//! One build, for every command that makes device images. [`check`] is every
//! rule, checked before anything is written; [`lock`] keeps two runs out of
//! one output directory; [`stage`] writes one device's outputs from its job
//! (`crate::job::device_job`, which `flash --recipe` uses too); [`settle`] makes
//! a batch durable and puts it in place; [`run`] is a whole `build` run:
//! check, lock, base, resume, jobs in parallel batches, settle, manifest;
//! [`batch_size`] sizes those batches by how long they take.

pub mod batch_size;
pub mod check;
pub mod lock;
pub mod run;
pub mod settle;
pub mod stage;
