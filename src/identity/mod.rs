//! The identity of a device as Alibaba Cloud IoT defines it: the rules each
//! part must follow ([`rules`], shared with the bootstrap through
//! `burnline-core`) and the output file names burnline derives from it
//! ([`file_name`]).

pub mod file_name;
pub use burnline_core::identity::rules;
