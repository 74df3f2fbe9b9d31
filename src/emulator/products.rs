//! The emulator's products file (YAML): which products exist, their
//! ProductSecrets, whether dynamic registration is on, and the DeviceNames
//! created in the "console" beforehand.
//!
//! ```yaml
//! products:
//!   - product_key: a1X2bEnP82z
//!     product_secret: 7jluWm1zql7bt8qK
//!     dynamic_registration: true
//!     register_without_precreate: false   # 免预注册 (MQTT `authType=regnwl`)
//!     devices: [example1, example2]
//! ```

use crate::error::{Error, IoContext, Result};
use crate::secret::Secret;
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
    /// The DeviceNames created for it.
    pub devices: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    products: Vec<RawProduct>,
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
    devices: Vec<String>,
}

fn yes() -> bool {
    true
}

/// Reads and checks a products file.
pub fn load(path: &Path) -> Result<Vec<Product>> {
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path).at("reading the products file", path)?,
    );
    let raw: RawFile = yaml_serde::from_str(&text).map_err(|e| {
        // The parser's message may quote a line of the file (and a secret).
        let at = e.location().map(|l| format!(":{}:{}", l.line(), l.column())).unwrap_or_default();
        Error::invalid(format!("{}{at}", path.display()), "", "not a products file (products: [{product_key, product_secret, dynamic_registration, register_without_precreate, devices}])")
    })?;
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
        out.push(Product {
            product_key: p.product_key,
            product_secret: Secret::new(p.product_secret),
            dynamic_registration: p.dynamic_registration,
            register_without_precreate: p.register_without_precreate,
            devices: p.devices,
        });
    }
    Ok(out)
}
