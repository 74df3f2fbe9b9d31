//! The seed's checks on a certificate read at boot: nothing empty, the
//! lengths and characters right (the region by the host tool's rule), and a
//! mode that is either a full triple or a product certificate waiting for
//! registration. [`accept`] is rule 7 of the record format: a slot whose
//! payload fails it is not valid, and the other slot is used.

use burnline_core::credentials::payload::Credentials;
use burnline_core::identity::rules;
use burnline_core::registration::endpoint::Endpoint;

/// What a valid record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A full triple: ready to connect.
    Triple,
    /// A product certificate: the device must register once.
    ProductCertificate,
}

impl Mode {
    /// The name shown by `status`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Triple => "device-secret (full triple)",
            Mode::ProductCertificate => "product-secret (not yet registered)",
        }
    }
}

/// Checks a decoded record; the error names the field and the rule, never a value.
pub fn check(c: &Credentials) -> Result<Mode, String> {
    rules::check_product_key(&c.product_key).map_err(|r| format!("product_key: {r}"))?;
    rules::check_device_name(&c.device_name).map_err(|r| format!("device_name: {r}"))?;
    if let Some(region) = &c.region {
        // The recipe's rule: a region that can never resolve would have the
        // device retry the network forever.
        Endpoint::for_region(region).map_err(|e| format!("region: {e}"))?;
    }
    if let Some(url) = &c.endpoint {
        if Endpoint::parse(url).is_err() {
            return Err(
                "endpoint: not a usable https:// base URL (or http:// to a loopback host)".into(),
            );
        }
    }
    if !matches!(c.register_via.as_deref(), None | Some("http" | "mqtt")) {
        return Err("register_via: must be `http` or `mqtt`".into());
    }
    if let Some(ds) = &c.device_secret {
        rules::check_device_secret(ds.expose()).map_err(|r| format!("device_secret: {r}"))?;
        return Ok(Mode::Triple);
    }
    match &c.product_secret {
        Some(ps) => {
            rules::check_product_secret(ps.expose()).map_err(|r| format!("product_secret: {r}"))?;
            Ok(Mode::ProductCertificate)
        }
        None => Err("the record holds neither device_secret nor product_secret".into()),
    }
}

/// Rule 7 of the record format for one slot's payload: it is the record's
/// JSON object and [`check`] passes; the error names the field, never a value.
pub fn accept(payload: &[u8]) -> Result<(), String> {
    check(&Credentials::from_json(payload)?).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_region(region: &str) -> Vec<u8> {
        format!(
            r#"{{"product_key":"a1X2bEnP82z","device_name":"gw-01","device_secret":"ga7XA6KdlEeiPXQPpRbAjOZXwG8ydgSe","region":"{region}"}}"#
        )
        .into_bytes()
    }

    #[test]
    fn the_region_follows_the_host_tools_rule() {
        assert_eq!(accept(&with_region("cn-shanghai")), Ok(()));
        assert_eq!(
            accept(&with_region(
                &"r".repeat(burnline_core::registration::endpoint::REGION_MAX)
            )),
            Ok(())
        );
        let long = accept(&with_region(&"r".repeat(65_000))).expect_err("too long");
        assert!(
            long.starts_with("region: a region of 65000 characters"),
            "{long}"
        );
        assert!(accept(&with_region("cn.shanghai")).is_err());
        assert!(accept(&with_region("")).is_err());
    }

    #[test]
    fn wrong_fields_are_refused_by_name() {
        let e = accept(br#"{"product_key":"a1X2bEnP82z","device_name":"gw-01","colour":"red"}"#)
            .expect_err("unknown member");
        assert!(e.contains("wrong fields"), "{e}");
        let e = accept(
            br#"{"product_key":"a1X2bEnP82z","device_name":"gw-01","endpoint":"http://10.0.0.1"}"#,
        )
        .expect_err("plain http");
        assert!(e.starts_with("endpoint:"), "{e}");
    }
}
