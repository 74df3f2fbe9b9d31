//! `burnline emulator`: a local stand-in for the platform's registration
//! service, for tests and for trying a production line without the cloud.
//! [`products`] reads the products file, [`state`] keeps devices (durably
//! with `--state`), [`http`] is the small HTTP/1.1 layer, [`api`] answers
//! the platform and admin requests, and [`server`] accepts connections
//! (plain or TLS), one thread per connection.

pub mod api;
pub mod http;
pub mod products;
pub mod server;
pub mod state;
