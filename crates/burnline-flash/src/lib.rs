//! Writing images to cards, in the order a card is written: what to write
//! ([`source`]; a sparse delta read as patches, [`sparse_delta`]), where
//! ([`target`]), never over one of the run's own files or twice
//! ([`overlap`]), what goes where ([`plan`]), a raw base hashed once for
//! every card ([`checked_base`]) and its chunks summed once
//! ([`chunk_sums`]), how ([`write`]: holes skipped where a bmap
//! allows, the partition-table regions last, everything read back), several
//! targets at once ([`parallel`]), and what a written card says about
//! itself ([`on_card`]). Then the two ways a programmer station gets fresh
//! identities: straight from a recipe and a device CSV ([`from_recipe`],
//! `flash --recipe`) with the station's own ledger ([`station_ledger`]), or
//! from the pool a line of stations shares ([`pooled`], `flash --pool` and
//! `station serve`), each card's physical identity recorded
//! ([`card_identity`]).

pub mod source;
pub mod sparse_delta;
pub mod target;
pub mod overlap;
pub mod plan;
pub mod chunk_sums;
pub mod checked_base;
pub mod write;
pub mod parallel;
pub mod on_card;
pub mod station_ledger;
pub mod from_recipe;
pub mod card_identity;
pub mod pooled;
