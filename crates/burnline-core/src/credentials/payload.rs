//! The record's payload: a UTF-8 JSON object with `product_key`,
//! `device_name`, and `device_secret` (一机一密, or after registration) or
//! `product_secret` (一型一密), plus `region` / `endpoint` when set, and
//! `register_via` (`mqtt`) when the device is to register over MQTT.

use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The credentials a device carries.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// ProductKey.
    pub product_key: String,
    /// DeviceName.
    pub device_name: String,
    /// DeviceSecret, once known.
    pub device_secret: Option<Secret>,
    /// ProductSecret, for a device that still has to register.
    pub product_secret: Option<Secret>,
    /// Region, such as `cn-shanghai`.
    pub region: Option<String>,
    /// Registration endpoint (a base URL).
    pub endpoint: Option<String>,
    /// Keep the ProductSecret after registering.
    pub keep_product_secret: bool,
    /// How the device registers: `http` (when absent) or `mqtt`.
    pub register_via: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire<'a> {
    product_key: &'a str,
    device_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    device_secret: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    product_secret: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    region: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    endpoint: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    keep_product_secret: bool,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    register_via: Option<&'a str>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OwnedWire {
    product_key: String,
    device_name: String,
    #[serde(default)]
    device_secret: Option<String>,
    #[serde(default)]
    product_secret: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    endpoint: Option<String>,
    #[serde(default)]
    keep_product_secret: bool,
    #[serde(default)]
    register_via: Option<String>,
}

impl Credentials {
    /// The JSON bytes, zeroized when dropped since they hold a secret.
    pub fn to_json(&self) -> Zeroizing<Vec<u8>> {
        let wire = Wire {
            product_key: &self.product_key,
            device_name: &self.device_name,
            device_secret: self.device_secret.as_ref().map(Secret::expose),
            product_secret: self.product_secret.as_ref().map(Secret::expose),
            region: self.region.as_deref(),
            endpoint: self.endpoint.as_deref(),
            keep_product_secret: self.keep_product_secret,
            register_via: self.register_via.as_deref(),
        };
        // Serializing plain strings to a Vec cannot fail.
        Zeroizing::new(serde_json::to_vec(&wire).unwrap_or_default())
    }

    /// Parses a payload; the error says what is wrong, never a value.
    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        let w: OwnedWire = serde_json::from_slice(bytes).map_err(|e| {
            format!(
                "the payload is not the expected JSON object ({})",
                e.classify_name()
            )
        })?;
        Ok(Credentials {
            product_key: w.product_key,
            device_name: w.device_name,
            device_secret: w.device_secret.map(Secret::new),
            product_secret: w.product_secret.map(Secret::new),
            region: w.region,
            endpoint: w.endpoint,
            keep_product_secret: w.keep_product_secret,
            register_via: w.register_via,
        })
    }
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "I/O",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "wrong fields",
            serde_json::error::Category::Eof => "truncated",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let c = Credentials {
            product_key: "a1X2bEnP82z".into(),
            device_name: "example1".into(),
            device_secret: None,
            product_secret: Some(Secret::from("7jluWm1zql7bt8qK")),
            region: Some("cn-shanghai".into()),
            endpoint: None,
            keep_product_secret: false,
            register_via: None,
        };
        let json = c.to_json();
        assert_eq!(
            std::str::from_utf8(&json).expect("utf8"),
            r#"{"product_key":"a1X2bEnP82z","device_name":"example1","product_secret":"7jluWm1zql7bt8qK","region":"cn-shanghai"}"#
        );
        let back = Credentials::from_json(&json).expect("parses");
        assert_eq!(
            back.product_secret
                .map(|s| s.expose().to_owned())
                .as_deref(),
            Some("7jluWm1zql7bt8qK")
        );
        let err =
            Credentials::from_json(br#"{"product_key":"x","device_name":"y","device_secret":5}"#)
                .unwrap_err();
        assert!(!err.contains('5'));
    }
}
