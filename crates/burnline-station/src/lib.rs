//! The station service (`burnline station serve --config station.yaml`): a
//! long-running process for line operators, in the order a card meets it:
//! [`config`] is `station.yaml`; cards are detected in their slots
//! ([`slots`]) and checked ([`safety`]); each slot has one state
//! ([`slot_state`]); cards are burned with identities leased from the pool
//! ([`writer`], [`service`]), each step in the station's [`journal`], and
//! labelled once verified ([`label`]); the operator page ([`page`], [`api`],
//! [`page_server`]) shows it all; [`run`] runs the service until a stop;
//! [`report`] is the day's CSV (`burnline station report`).

pub mod config;
pub mod slots;
pub mod safety;
pub mod slot_state;
pub mod writer;
pub mod journal;
pub mod service;
pub mod label;
pub mod page;
pub mod api;
pub mod page_server;
pub mod run;
pub mod report;
