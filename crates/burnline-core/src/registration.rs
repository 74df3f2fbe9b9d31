//! Talking to the platform as a device does: [`sign`], [`form`], [`random`],
//! [`endpoint`], [`error`], [`sent`] and [`client`] make the
//! dynamic-registration (一型一密) and device-authentication client; [`mqtt`]
//! derives the MQTT connect parameters of a triple.

pub mod client;
pub mod endpoint;
pub mod error;
pub mod form;
pub mod mqtt;
pub mod random;
pub mod sent;
pub mod sign;
