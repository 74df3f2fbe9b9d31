//! The emulator's MQTT side: [`client_id`] parses the platform's ClientID,
//! [`login`] judges a CONNECT by the platform's rules, [`alink`] answers its
//! event posts, and [`server`] serves the connections. Which topics a device
//! may use is `crate::topics`, and the sessions (one connection per device,
//! messages routed to subscribers) are `crate::sessions`, which the HTTP API
//! uses too.

pub mod alink;
pub mod client_id;
pub mod login;
pub mod server;
