//! How large a slot a device's credential record can ever need. The
//! platform issues a DeviceSecret once, so a record that could not store it
//! after registering loses it for good: the host's `check` refuses a
//! credentials partition too small for the largest record of its recipe,
//! and the bootstrap checks its own record before it registers. Both use
//! [`largest_slot`], so they cannot disagree.

use super::payload::Credentials;
use super::record;
use crate::identity::rules::{
    DEVICE_NAME_MAX, DEVICE_SECRET_MAX, PRODUCT_KEY_LEN, PRODUCT_SECRET_MAX,
};
use crate::secret::Secret;

/// The bytes of the largest slot (header included) `creds` can need: as it
/// is now, and once registration has added a DeviceSecret of the longest
/// length the platform issues ([`DEVICE_SECRET_MAX`] characters, which
/// need no escaping in JSON) and dropped the ProductSecret, unless the
/// record says `keep_product_secret`.
pub fn largest_slot(creds: &Credentials) -> u64 {
    let mut registered = creds.clone();
    registered.device_secret = Some(Secret::new("0".repeat(DEVICE_SECRET_MAX)));
    if !registered.keep_product_secret {
        registered.product_secret = None;
    }
    let now = creds.to_json().len();
    let later = registered.to_json().len();
    record::slot_len(now.max(later))
}

/// What a recipe fixes for the records of all its devices: which secrets
/// they carry when burned, and the members besides names and secrets.
#[derive(Debug, Clone, Copy)]
pub struct Shape<'a> {
    /// The burned record carries a DeviceSecret (一机一密, or registered by
    /// the station).
    pub device_secret: bool,
    /// The burned record carries a ProductSecret (一型一密).
    pub product_secret: bool,
    /// The recorded region.
    pub region: Option<&'a str>,
    /// The recorded endpoint.
    pub endpoint: Option<&'a str>,
    /// The ProductSecret is kept after registration.
    pub keep_product_secret: bool,
    /// The recorded `register_via`.
    pub register_via: Option<&'a str>,
}

/// [`largest_slot`] over every device whose record has `shape`, with every
/// name and secret at its longest (ProductKey 11 characters; DeviceName,
/// DeviceSecret and ProductSecret 32).
pub fn largest_slot_of_any(shape: &Shape<'_>) -> u64 {
    let longest = |n: usize| "0".repeat(n);
    let widest = Credentials {
        product_key: longest(PRODUCT_KEY_LEN),
        device_name: longest(DEVICE_NAME_MAX),
        device_secret: shape
            .device_secret
            .then(|| Secret::new(longest(DEVICE_SECRET_MAX))),
        product_secret: shape
            .product_secret
            .then(|| Secret::new(longest(PRODUCT_SECRET_MAX))),
        region: shape.region.map(str::to_owned),
        endpoint: shape.endpoint.map(str::to_owned),
        keep_product_secret: shape.keep_product_secret,
        register_via: shape.register_via.map(str::to_owned),
    };
    largest_slot(&widest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product_certificate(keep: bool) -> Credentials {
        Credentials {
            product_key: "a1X2bEnP82z".into(),
            device_name: "gw-0001".into(),
            device_secret: None,
            product_secret: Some(Secret::from("7jluWm1zql7bt8qK")),
            region: Some("cn-shanghai".into()),
            endpoint: None,
            keep_product_secret: keep,
            register_via: None,
        }
    }

    fn registered_len(c: &Credentials, ds: &str) -> u64 {
        let mut r = c.clone();
        r.device_secret = Some(Secret::from(ds));
        if !r.keep_product_secret {
            r.product_secret = None;
        }
        record::slot_len(r.to_json().len())
    }

    #[test]
    fn the_bound_covers_the_record_before_and_after_registration() {
        let ds = "ga7XA6KdlEeiPXQPpRbAjOZXwG8ydgSe";
        for keep in [false, true] {
            let c = product_certificate(keep);
            let bound = largest_slot(&c);
            assert!(bound >= record::slot_len(c.to_json().len()));
            assert!(bound >= registered_len(&c, ds));
            assert_eq!(
                bound,
                registered_len(&c, ds).max(record::slot_len(c.to_json().len()))
            );
        }
        // Keeping the ProductSecret makes the registered record larger.
        assert!(
            largest_slot(&product_certificate(true)) > largest_slot(&product_certificate(false))
        );
    }

    #[test]
    fn any_device_of_the_shape_fits_the_widest_bound() {
        let template = product_certificate(true);
        let shape = |endpoint| Shape {
            device_secret: false,
            product_secret: true,
            region: Some("cn-shanghai"),
            endpoint,
            keep_product_secret: true,
            register_via: None,
        };
        let bound = largest_slot_of_any(&shape(None));
        let mut longest = template.clone();
        longest.device_name = "d".repeat(DEVICE_NAME_MAX);
        longest.product_secret = Some(Secret::new("P".repeat(PRODUCT_SECRET_MAX)));
        assert_eq!(largest_slot(&longest), bound);
        assert!(largest_slot(&template) < bound);
        // A longer endpoint needs more room, byte for byte.
        let endpoint = format!("https://{}.example", "e".repeat(100));
        let far_bound = largest_slot_of_any(&shape(Some(&endpoint)));
        assert_eq!(
            far_bound - bound,
            endpoint.len() as u64 + r#","endpoint":"""#.len() as u64
        );
    }
}
