//! An identity's kind, recorded when it is imported (schema version 3):
//! `device-secret` (一机一密: it came with its DeviceSecret) or
//! `product-secret` (一型一密: a DeviceName only; the device, or the
//! station with `register: host`, gets its secret by registering). A
//! station leases only the kind its recipe's mode burns, and an import
//! never mixes the two kinds in one product.

use std::fmt;

/// What an identity came with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// 一机一密: imported with its DeviceSecret.
    DeviceSecret,
    /// 一型一密: imported without one.
    ProductSecret,
}

impl Kind {
    /// The kind of an identity imported with (or without) a DeviceSecret.
    pub fn with_secret(has_secret: bool) -> Kind {
        if has_secret {
            Kind::DeviceSecret
        } else {
            Kind::ProductSecret
        }
    }

    /// Its name in the database, as the recipe's `auth.mode` says it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::DeviceSecret => "device-secret",
            Kind::ProductSecret => "product-secret",
        }
    }

    /// The kind named `s`.
    pub fn parse(s: &str) -> Option<Kind> {
        [Kind::DeviceSecret, Kind::ProductSecret]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_a_secret_decides_the_kind() {
        for k in [Kind::DeviceSecret, Kind::ProductSecret] {
            assert_eq!(Kind::parse(k.as_str()), Some(k));
        }
        assert_eq!(Kind::with_secret(true), Kind::DeviceSecret);
        assert_eq!(Kind::with_secret(false), Kind::ProductSecret);
        assert_eq!(Kind::parse("both"), None);
    }
}
