//! The device list: a CSV, plain or encrypted at rest ([`list`]), in UTF-8
//! or GBK ([`encoding`]), streamed row by row ([`reader`]) and checked as a
//! whole before anything is written ([`check`]).

pub mod check;
pub mod encoding;
pub mod list;
pub mod reader;
