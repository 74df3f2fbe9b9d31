//! Writing images to cards: what to write ([`source`]), where ([`target`]),
//! how ([`write`]: holes skipped where a bmap allows, the partition-table
//! regions last, everything read back) and, for stations flashing straight
//! from a recipe, the identity [`ledger`].

pub mod from_recipe;
pub mod ledger;
pub mod source;
pub mod target;
pub mod write;
