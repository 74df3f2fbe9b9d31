//! The device list: a CSV streamed row by row ([`reader`]) and checked as a
//! whole before anything is written ([`check`]).

pub mod check;
pub mod reader;
