//! How a `burnline platform` command fails: bad input, a refusal by the
//! OpenAPI (a gateway 4xx, or `Success:false`), no answer, or devices that
//! are not `ONLINE`; and the files and the pool it works with. The CLI's
//! `exit` module gives each its exit code.
//!
//! No message ever holds an AccessKey secret or a DeviceSecret: the
//! platform's messages are cut to one line and stripped of anything after
//! `string to sign is:` (which echoes the request).

/// A `platform` command's failure.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// Bad input: a command line, file or credential that cannot be used.
    #[error("{0}")]
    Input(String),
    /// The OpenAPI refused a call.
    #[error("{api}: refused: {code}: {message} (RequestId {request_id})")]
    Refused {
        /// The API (action) called.
        api: String,
        /// The error code (`Throttling.User`, `iot.device.NotExistedDevice`, …).
        code: String,
        /// Its message, one line.
        message: String,
        /// The request's ID, for Alibaba's support.
        request_id: String,
    },
    /// No answer, or an answer that is not the API's.
    #[error("{api}: {detail}")]
    Transport {
        /// The API (action) called.
        api: String,
        /// What went wrong.
        detail: String,
    },
    /// Some devices are not online.
    #[error("{not_online} of {total} device(s) are not ONLINE")]
    NotOnline {
        /// How many are not.
        not_online: usize,
        /// How many were asked about.
        total: usize,
    },
    /// A file could not be read or written.
    #[error(transparent)]
    Io(#[from] burnline_io::Error),
    /// The identity pool failed.
    #[error(transparent)]
    Pool(#[from] burnline_pool::PoolError),
}

/// A platform step's result.
pub type Result<T, E = PlatformError> = std::result::Result<T, E>;

impl PlatformError {
    /// Whether this is the gateway's flow control, which a later try may pass.
    pub fn is_throttling(&self) -> bool {
        matches!(self, PlatformError::Refused { code, .. } if code.starts_with("Throttling"))
    }
}

/// The platform's message made safe to print: the first line, without the
/// echoed string to sign, at most 300 characters.
pub fn clean_message(message: &str) -> String {
    let first = message.lines().next().unwrap_or("");
    let cut = ["server string to sign is", "string to sign is"]
        .iter()
        .find_map(|m| first.find(m))
        .map_or(first, |i| first[..i].trim_end_matches([':', ' ']));
    cut.chars().filter(|c| !c.is_control()).take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_clean_line() {
        assert_eq!(
            clean_message("Specified signature is not matched with our calculation. server string to sign is:POST&%2F&AccessKeyId%3D"),
            "Specified signature is not matched with our calculation."
        );
        assert_eq!(clean_message("a\nb"), "a");
        assert_eq!(clean_message(&"x".repeat(400)).len(), 300);
    }
}
