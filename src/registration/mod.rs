//! Dynamic registration (一型一密): trading a ProductSecret and a DeviceName
//! for the device's DeviceSecret, once.
//!
//! [`sign`], [`form`], [`random`], [`endpoint`], [`error`] and [`client`]
//! make the client, which depends on nothing image-related so that a
//! device-side bootstrap can reuse it. [`ledger`] keeps every issued secret
//! durable before use, and [`host`] is the station's registration for
//! `build`. [`mqtt`] derives the MQTT connect parameters of a triple,
//! [`mqtt_transport`] is the small synchronous MQTT connection (TLS with
//! rustls) and [`mqtt_login`] logs a triple in over it (the online check)
//! or registers a device over MQTT.

pub mod client;
pub mod endpoint;
pub mod error;
pub mod form;
pub mod host;
pub mod ledger;
pub mod mqtt;
pub mod mqtt_login;
pub mod mqtt_transport;
pub mod random;
pub mod sign;
