//! [`SecretValue`]: a secret argument as given on the command line, where
//! `-` means "read it from standard input" (`register`'s PS,
//! `mqtt-credentials --device-secret`). What is read from where, and the
//! warning for a secret given in clear, are `crate::commands::secret_input`.

use burnline_core::secret::Secret;
use std::convert::Infallible;
use std::str::FromStr;

/// A secret argument: `-`, or the secret itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretValue {
    /// `-`: the secret is on standard input.
    Stdin,
    /// The secret, given in clear (every local user can read it).
    Given(Secret),
}

impl FromStr for SecretValue {
    type Err = Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "-" => SecretValue::Stdin,
            _ => SecretValue::Given(Secret::new(s.to_owned())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dash_is_standard_input_and_anything_else_the_secret() {
        assert_eq!("-".parse(), Ok(SecretValue::Stdin));
        assert_eq!(
            "7jluWm1zql7bt8qK".parse(),
            Ok(SecretValue::Given(Secret::new(
                "7jluWm1zql7bt8qK".to_owned()
            )))
        );
        assert_eq!(
            "--".parse(),
            Ok(SecretValue::Given(Secret::new("--".to_owned())))
        );
    }
}
