//! The recipe: a YAML file written by a firmware engineer that says what every
//! device's disk looks like. [`load`] reads it, rejects unknown fields, checks
//! every rule it can check alone, and returns the resolved [`Recipe`]; every
//! broken rule is reported with its line, column and field. [`raw`] is the
//! YAML as written, [`resolve`] turns it into the [`types`], with sizes
//! ([`size`]), partition types ([`part_type`]), output options
//! ([`output_spec`]) and positions for error messages ([`locate`]).

pub mod arch;
pub mod locate;
pub mod output_spec;
pub mod part_type;
pub mod raw;
pub mod resolve;
pub mod size;
pub mod types;

pub use resolve::{check_label, load, load_layout, load_lenient};
pub use types::*;
