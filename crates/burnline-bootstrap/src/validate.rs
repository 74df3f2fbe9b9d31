//! The seed's checks on a certificate read at boot: nothing empty, the
//! lengths and characters right, and a mode that is either a full triple or a
//! product certificate waiting for registration.

use burnline_core::credentials::payload::Credentials;
use burnline_core::identity::rules;

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
