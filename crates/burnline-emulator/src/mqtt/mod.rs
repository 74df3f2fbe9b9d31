//! The emulator's MQTT side: [`client_id`] parses the platform's ClientID,
//! [`login`] judges a CONNECT by the platform's rules, [`topics`] says which
//! topics a device may use, [`alink`] answers its event posts, [`sessions`]
//! keeps one connection per device and routes messages to subscribers, and
//! [`server`] serves the connections.

pub mod alink;
pub mod client_id;
pub mod login;
pub mod server;
pub mod sessions;
pub mod topics;
