//! Talking to the platform as a device does: [`sign`], [`form`], [`random`],
//! [`endpoint`], [`error`], [`sent`] and [`client`] make the
//! dynamic-registration (一型一密) and device-authentication client; [`mqtt`]
//! derives the MQTT connect parameters of a triple, [`mqtt_transport`] is the
//! small synchronous MQTT connection (TLS with rustls) and [`mqtt_login`]
//! logs a triple in over it (the online check) or registers a device over
//! MQTT.

pub mod client;
pub mod endpoint;
pub mod error;
pub mod form;
pub mod mqtt;
pub mod mqtt_login;
pub mod mqtt_transport;
pub mod random;
pub mod sent;
pub mod sign;
