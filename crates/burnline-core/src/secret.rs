//! Secrets (DeviceSecret, ProductSecret) live in [`Secret`], so that they can
//! never leak through `Debug`, logs or error messages by accident, and are wiped
//! from memory when dropped.

use std::fmt;
use zeroize::Zeroizing;

/// A secret string: `Debug` prints `<redacted>`, there is no `Display`, and the
/// bytes are zeroized on drop. Read it with [`Secret::expose`] at the one place
/// that needs the clear text.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a string that holds a secret.
    pub fn new(value: String) -> Self {
        Secret(Zeroizing::new(value))
    }

    /// The clear text. Call it only where the secret is used (signing, writing
    /// the credential record), never to print.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The length in characters, which validation may report.
    pub fn len(&self) -> usize {
        self.0.chars().count()
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts() {
        let s = Secret::from("ga7XA6KdlEeiPXQPpRbAjOZXwG8ydgSe");
        let shown = format!("{s:?} {:?}", Some(&s));
        assert!(!shown.contains("ga7XA6"), "{shown}");
        assert!(shown.contains("<redacted>"));
        assert_eq!(s.expose(), "ga7XA6KdlEeiPXQPpRbAjOZXwG8ydgSe");
        assert_eq!(s.len(), 32);
    }
}
