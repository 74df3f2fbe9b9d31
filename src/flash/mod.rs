//! Writing images to cards: what to write ([`source`]; a sparse delta
//! read as patches, [`sparse_delta`]), where ([`target`]),
//! never over one of the run's own files or twice ([`overlap`]),
//! how ([`write`]: holes skipped where a bmap allows, the partition-table
//! regions last, everything read back; a raw base hashed once for every
//! card, [`checked_base`]), what goes where ([`plan`]), several
//! targets at once ([`parallel`]), and the programmer station that flashes
//! fresh identities straight from a recipe ([`station`]) with its identity
//! [`ledger`], or from a pool shared by a line of stations ([`pooled`]),
//! recording each card's physical identity ([`card_identity`]).

pub mod card_identity;
pub mod checked_base;
pub mod ledger;
pub mod on_card;
pub mod overlap;
pub mod parallel;
pub mod plan;
pub mod pooled;
pub mod source;
pub mod sparse_delta;
pub mod station;
pub mod target;
pub mod write;
