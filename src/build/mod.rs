//! One build, for every command that makes device images. [`check`] is every
//! rule, checked before anything is written; [`lock`] keeps two runs out of
//! one output directory; [`job`] turns a CSV row into one device's job (its
//! credentials, registered on the host first where the recipe says so, its
//! derived IDs and its patches over the base), which full images, base+delta
//! output and `flash --recipe` all use; [`settle`] makes a batch durable and
//! puts it in place; [`run`] is a whole `build` run: check, lock, base,
//! resume, jobs in parallel batches, settle, manifest.

pub mod check;
pub mod job;
pub mod lock;
pub mod run;
pub mod settle;
