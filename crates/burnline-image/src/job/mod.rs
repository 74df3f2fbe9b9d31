//! One device of a run, whatever is made of it: its job ([`device_job`]: the CSV row,
//! its credentials, registered on the host first where the recipe says so,
//! its derived IDs and its patches over the base, its output file names
//! and its manifest [`entry`] skeleton, all computed once when the job is
//! made).
//! Full images (`crate::output`), base+delta output (`crate::delta`) and the
//! programmer station (`burnline_flash::from_recipe`) all start from a job.

pub mod device_job;
pub mod entry;
