//! An identity's states: `available` → `leased` (given to a card, recorded
//! before its first byte) → `written` → `verified` (read back and
//! matched), or `quarantined` (a failed write or check, a station that
//! died with it) until a person releases it.

use std::fmt;

/// Where an identity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// In the pool, for the next card.
    Available,
    /// Given to a card; nothing written may be assumed yet.
    Leased,
    /// Written to the card and synced.
    Written,
    /// Read back and matched: the card is good.
    Verified,
    /// Set aside: its card is not known to be good or blank.
    Quarantined,
}

impl State {
    /// Every state, in order.
    pub const ALL: [State; 5] = [
        State::Available,
        State::Leased,
        State::Written,
        State::Verified,
        State::Quarantined,
    ];

    /// Its name in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Available => "available",
            State::Leased => "leased",
            State::Written => "written",
            State::Verified => "verified",
            State::Quarantined => "quarantined",
        }
    }

    /// The state named `s`.
    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
