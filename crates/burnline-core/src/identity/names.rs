//! [`ProductKey`] and [`DeviceName`]: a ProductKey or DeviceName that passed
//! its rule ([`super::rules`]), for the command line. Their `FromStr` is the
//! rule the device CSV and the recipe are checked with, so a flag, a CSV
//! field and a recipe key cannot disagree on what is valid.

use super::rules::{check_device_name, check_product_key};
use std::fmt;
use std::str::FromStr;

/// A ProductKey: 11 letters and digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductKey(String);

/// A DeviceName: 4 to 32 characters of `A-Za-z0-9-_@.:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceName(String);

impl FromStr for ProductKey {
    type Err = String;

    /// The value, if [`check_product_key`] passes it; else the rule broken
    /// (without the value).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        check_product_key(s).map(|()| ProductKey(s.to_owned()))
    }
}

impl FromStr for DeviceName {
    type Err = String;

    /// The value, if [`check_device_name`] passes it; else the rule broken
    /// (without the value).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        check_device_name(s).map(|()| DeviceName(s.to_owned()))
    }
}

impl ProductKey {
    /// The ProductKey as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl DeviceName {
    /// The DeviceName as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProductKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for DeviceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_product_key_parses_by_its_rule() {
        let pk: ProductKey = "a1X2bEnP82z".parse().expect("valid");
        assert_eq!(pk.as_str(), "a1X2bEnP82z");
        assert_eq!(pk.to_string(), "a1X2bEnP82z");
        assert_eq!(
            "short".parse::<ProductKey>(),
            Err("must be 11 characters, found 5".to_owned())
        );
        assert_eq!(
            "a1X2bEnP8-z".parse::<ProductKey>(),
            Err(check_product_key("a1X2bEnP8-z").expect_err("the rule"))
        );
    }

    #[test]
    fn a_device_name_parses_by_its_rule() {
        let dn: DeviceName = "gw-01@line.3:a".parse().expect("valid");
        assert_eq!(dn.as_str(), "gw-01@line.3:a");
        assert_eq!(dn.to_string(), "gw-01@line.3:a");
        assert_eq!(
            "abc".parse::<DeviceName>(),
            Err("must be 4 to 32 characters, found 3".to_owned())
        );
        assert_eq!(
            "a/b/c/d".parse::<DeviceName>(),
            Err(check_device_name("a/b/c/d").expect_err("the rule"))
        );
    }
}
