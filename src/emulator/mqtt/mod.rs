//! The emulator's MQTT side: [`client_id`] parses the platform's ClientID,
//! [`login`] judges a CONNECT by the platform's rules, [`sessions`] keeps one
//! connection per device, and [`server`] serves the connections.

pub mod client_id;
pub mod login;
pub mod server;
pub mod sessions;
