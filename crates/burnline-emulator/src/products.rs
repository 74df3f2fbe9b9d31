//! The emulator's products file (YAML): which products exist, their
//! ProductSecrets, whether dynamic registration is on, and the devices
//! created in the "console" beforehand: a DeviceName alone (it gets its
//! DeviceSecret by dynamic registration, 一型一密), or a DeviceName with the
//! DeviceSecret the console's batch creation gave it (一机一密); and the
//! AccessKey pairs the OpenAPI listener accepts (`--openapi`). The file
//! holds secrets: one its group or others may read is refused.
//!
//! ```yaml
//! access_keys:
//!   - {id: LTAI5tExampleKeyId, secret: ExampleAccessKeySecret0123456789}
//! products:
//!   - product_key: a1X2bEnP82z
//!     product_secret: 7jluWm1zql7bt8qK
//!     dynamic_registration: true
//!     register_without_precreate: false   # 免预注册 (MQTT `authType=regnwl`)
//!     devices:
//!       - example1
//!       - {device_name: example2, device_secret: ga7XA6KdlEeiPXQPpRbAjOZXwG8ydgSe}
//! ```

use crate::error::{Error, Result};
use burnline_core::secret::Secret;
use burnline_io::IoContext;
use serde::Deserialize;
use std::path::Path;

/// One product.
#[derive(Debug)]
pub struct Product {
    /// ProductKey.
    pub product_key: String,
    /// ProductSecret.
    pub product_secret: Secret,
    /// Whether dynamic registration is switched on (before any admin change).
    pub dynamic_registration: bool,
    /// Whether devices not created beforehand may register over MQTT with
    /// `authType=regnwl` (免预注册).
    pub register_without_precreate: bool,
    /// The devices created for it.
    pub devices: Vec<Device>,
}

/// A device created in the console beforehand.
#[derive(Debug)]
pub struct Device {
    /// DeviceName.
    pub device_name: String,
    /// The DeviceSecret the console gave it (一机一密), if any.
    pub device_secret: Option<Secret>,
}

/// An AccessKey pair of the OpenAPI.
#[derive(Debug, Clone)]
pub struct AccessKey {
    /// AccessKey ID.
    pub id: String,
    /// AccessKey secret.
    pub secret: Secret,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    access_keys: Vec<RawAccessKey>,
    products: Vec<RawProduct>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccessKey {
    id: String,
    secret: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProduct {
    product_key: String,
    product_secret: String,
    #[serde(default = "yes")]
    dynamic_registration: bool,
    #[serde(default)]
    register_without_precreate: bool,
    #[serde(default)]
    devices: Vec<RawDevice>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawDevice {
    Name(String),
    WithSecret(RawDeviceWithSecret),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDeviceWithSecret {
    device_name: String,
    device_secret: String,
}

fn yes() -> bool {
    true
}

/// Reads and checks a products file: its products and its AccessKey pairs.
pub fn load(path: &Path) -> Result<(Vec<Product>, Vec<AccessKey>)> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .at("reading the products file", path)?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(Error::invalid(
            path.display().to_string(),
            "",
            format!(
                "the products file holds secrets and is readable by its group or others (mode {:o}); chmod 600 it",
                mode & 0o777
            ),
        ));
    }
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path).at("reading the products file", path)?,
    );
    let raw: RawFile = yaml_serde::from_str(&text).map_err(|e| {
        // The parser's message may quote a line of the file (and a secret).
        let at = e.location().map(|l| format!(":{}:{}", l.line(), l.column())).unwrap_or_default();
        Error::invalid(format!("{}{at}", path.display()), "", "not a products file (access_keys: [{id, secret}], products: [{product_key, product_secret, dynamic_registration, register_without_precreate, devices: [NAME or {device_name, device_secret}]}])")
    })?;
    let mut keys = Vec::new();
    for (i, k) in raw.access_keys.into_iter().enumerate() {
        if k.id.is_empty() || k.secret.is_empty() {
            return Err(Error::invalid(
                path.display().to_string(),
                format!("access_keys[{i}]"),
                "id and secret must not be empty",
            ));
        }
        if keys.iter().any(|o: &AccessKey| o.id == k.id) {
            return Err(Error::invalid(
                path.display().to_string(),
                format!("access_keys[{i}].id"),
                "is listed twice",
            ));
        }
        keys.push(AccessKey {
            id: k.id,
            secret: Secret::new(k.secret),
        });
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (i, p) in raw.products.into_iter().enumerate() {
        let loc = path.display().to_string();
        if p.product_key.is_empty() || p.product_secret.is_empty() {
            return Err(Error::invalid(
                loc,
                format!("products[{i}]"),
                "product_key and product_secret must not be empty",
            ));
        }
        if !seen.insert(p.product_key.clone()) {
            return Err(Error::invalid(
                loc,
                format!("products[{i}].product_key"),
                "is listed twice",
            ));
        }
        let mut devices = Vec::new();
        let mut names = std::collections::HashSet::new();
        for (j, d) in p.devices.into_iter().enumerate() {
            let device = match d {
                RawDevice::Name(device_name) => Device {
                    device_name,
                    device_secret: None,
                },
                RawDevice::WithSecret(d) => Device {
                    device_name: d.device_name,
                    device_secret: Some(Secret::new(d.device_secret)),
                },
            };
            let field = format!("products[{i}].devices[{j}]");
            if device.device_name.is_empty()
                || device
                    .device_secret
                    .as_ref()
                    .is_some_and(|s| s.expose().is_empty())
            {
                return Err(Error::invalid(
                    loc,
                    field,
                    "device_name and device_secret must not be empty",
                ));
            }
            if !names.insert(device.device_name.clone()) {
                return Err(Error::invalid(loc, field, "names a device listed before"));
            }
            devices.push(device);
        }
        out.push(Product {
            product_key: p.product_key,
            product_secret: Secret::new(p.product_secret),
            dynamic_registration: p.dynamic_registration,
            register_without_precreate: p.register_without_precreate,
            devices,
        });
    }
    Ok((out, keys))
}
