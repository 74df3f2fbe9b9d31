//! One device of a run, whatever is made of it: its [`job`] (the CSV row,
//! its credentials, registered on the host first where the recipe says so,
//! its derived IDs and its patches over the base), its manifest [`entry`],
//! and its outputs [`staged`] under temp names until the batch is durable.
//! Full images (`crate::output`), base+delta output (`crate::delta`) and the
//! programmer station (`crate::flash::station`) all start from a job.

pub mod entry;
pub mod job;
pub mod staged;
