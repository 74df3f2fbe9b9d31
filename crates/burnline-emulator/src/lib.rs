//! `burnline-emulator`: a local stand-in for the platform, for tests and for
//! rehearsing a production line without the cloud, as a binary of its own
//! (the production `burnline` carries none of it: no MQTT server, no
//! OpenSSL). [`args`] is its command line and [`serve`] runs it;
//! [`error`] is how it fails. [`products`] reads the
//! products file, [`state`] keeps devices (durably with `--state`), [`api`]
//! answers the HTTP platform and admin requests ([`answer`] is what it
//! answers with, and [`http_auth`] serves
//! `/auth`), [`http_server`] serves them (axum, plain or TLS), [`mqtt`] is
//! the MQTT 3.1.1 server where devices log in, go online and register,
//! [`sessions`] keeps one connection per device and routes messages (the
//! API kicks and publishes through it), [`topics`] says which topics a
//! device may use, and
//! [`tls`] builds the one TLS configuration both use. [`openapi`] serves
//! the platform's OpenAPI (`--openapi`) over the same state.

pub mod args;
pub mod error;
pub mod products;
pub mod state;
pub mod tls;
pub mod topics;
pub mod sessions;
pub mod answer;
pub mod http_auth;
pub mod api;
pub mod http_server;
pub mod mqtt;
pub mod openapi;
pub mod serve;
