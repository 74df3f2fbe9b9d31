//! What the emulator's platform answers with: an HTTP status and a JSON body
//! ([`Answer`]), the platform's `code`/`message` form of it ([`platform`]),
//! and the platform's words for a refused registration ([`refusal_answer`]),
//! shared by the HTTP API, its `/auth` and the MQTT registration.

use crate::state::Refusal;
use serde_json::json;
use zeroize::Zeroizing;

/// An answer: HTTP status and JSON body (which may hold a secret).
pub type Answer = (u16, Zeroizing<Vec<u8>>);

/// A platform answer: HTTP 200 and a JSON `code` and `message`.
pub fn platform(code: i64, message: &str) -> Answer {
    (
        200,
        Zeroizing::new(
            json!({"code": code, "message": message})
                .to_string()
                .into_bytes(),
        ),
    )
}

/// The platform's words for a refused registration, with its code.
pub fn refusal_answer(r: Refusal) -> (i64, &'static str) {
    match r {
        Refusal::ProductNotFound => (6250, "product not found"),
        Refusal::SwitchedOff => (
            6288,
            "dynamic registration is switched off for this product",
        ),
        Refusal::DeviceNotFound => (6100, "device not found"),
        Refusal::AlreadyActivated => (6289, "device already activated"),
    }
}
