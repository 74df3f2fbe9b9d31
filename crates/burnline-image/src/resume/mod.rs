//! Resuming a `build` that was killed or interrupted: a [`journal`] of the
//! devices already durable, and the two-stage SIGINT handling in
//! [`interrupt`].

pub mod interrupt;
pub mod journal;
