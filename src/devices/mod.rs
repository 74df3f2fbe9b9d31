//! The device list: a CSV, plain or encrypted at rest ([`list`]), streamed
//! row by row ([`reader`]) and checked as a whole before anything is written
//! ([`check`]).

pub mod check;
pub mod list;
pub mod reader;
