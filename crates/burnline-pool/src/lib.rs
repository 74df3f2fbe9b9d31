//! burnline's identity pool: one database from which every programmer
//! station of a line leases identities, so that each identity goes onto
//! exactly one card and none is lost, across station crashes. It is its own
//! crate so that the database layer (drivers, schema, SQL) stays behind one
//! API, [`Pool`], that the host tool and the station service share: they
//! read typed rows ([`HistoryRow`], [`ImageDigest`], [`State`]), and no SQL
//! is written outside this crate.
//!
//! - [`url`]: `sqlite:PATH` (one machine) or `postgres://…` (a line);
//! - [`pgpass`]: the PostgreSQL password from the environment or a file;
//! - [`schema`]: the versioned migrations `pool init` applies;
//! - [`state`]: available → leased → written → verified, or quarantined;
//! - [`kind`]: with a DeviceSecret (一机一密) or without (一型一密);
//! - [`key`]: secrets encrypted at rest (AES-256-GCM) under a key file;
//! - [`station`]: a station name held by one live process;
//! - [`chain`]: the history's hash chain, per identity, and its check;
//! - [`pool`]: the operations, each one transaction with its history row;
//! - [`db`]: the two drivers behind one small interface, for this crate's
//!   modules (callers go through [`Pool`]);
//! - [`error`]: what can go wrong, one kind per cause.
//! - [`account`]: who ran a command, from the process's user ID.

pub mod account;
pub mod chain;
pub mod db;
pub mod error;
pub mod key;
pub mod kind;
pub mod pgpass;
pub mod pool;
pub mod schema;
pub mod state;
pub mod station;
pub mod url;

pub use error::{PoolError, Result};
pub use kind::Kind;
pub use pool::{HistoryRow, ImageDigest, Lease, LeaseRequest, NewIdentity, Pool};
pub use state::State;
pub use url::PoolUrl;
