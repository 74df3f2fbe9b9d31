//! How a registration can fail, in three kinds a caller acts on
//! differently: the platform refused, the exchange failed (no answer, or
//! not the platform's), or the request could not be made from what was
//! given. Messages name the platform code and what to do; they never carry
//! a secret.

use super::endpoint::EndpointError;

/// A failed registration.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// The platform answered with an error code.
    #[error("{}", refusal_text(*.code, .message))]
    Refused {
        /// The platform's code, such as 6289.
        code: i64,
        /// The platform's message, cleaned of control characters.
        message: String,
    },
    /// No answer: connection, TLS or timeout failure.
    #[error("{url}: {detail}")]
    Transport {
        /// The URL that was asked.
        url: String,
        /// What went wrong.
        detail: String,
    },
    /// An answer that is not the platform's.
    #[error("{url}: unexpected answer: {detail}")]
    BadResponse {
        /// The URL that was asked.
        url: String,
        /// What was wrong with it.
        detail: String,
    },
    /// The endpoint cannot be used.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// The other inputs cannot be used (a CA file, a ProductKey...).
    #[error("{0}")]
    Input(String),
}

impl RegisterError {
    /// The platform's code, when it refused.
    pub fn platform_code(&self) -> Option<i64> {
        match self {
            RegisterError::Refused { code, .. } => Some(*code),
            _ => None,
        }
    }
}

fn refusal_text(code: i64, message: &str) -> String {
    match code {
        6289 => format!(
            "the platform refused (code 6289, device already activated): it has logged in with a DeviceSecret \
             before, and an activated device is not registered again; delete the device in the IoT console, or reset \
             it (the console's reset, API ResetThing), then it can register again ({message})"
        ),
        6288 => format!(
            "the platform refused (code 6288): dynamic registration is switched off for this product; switch it on \
             in the IoT console ({message})"
        ),
        6600 => format!("the platform refused (code 6600): signature rejected; check the ProductSecret ({message})"),
        6250 => format!(
            "the platform refused (code 6250): product not found; check the ProductKey and the region ({message})"
        ),
        _ => format!("the platform refused the registration: code {code}: {message}"),
    }
}

/// A platform message made safe to print on one line, at most 200 characters.
pub fn clean_message(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}
