//! Character and length rules for ProductKey, ProductSecret, DeviceName and
//! DeviceSecret. Each check returns the broken rule in words, never the value
//! (a value may be a secret).

/// A value as an error message may show it: in backquotes, unless it has
/// the shape of a secret (16 to 64 letters and digits with upper case, lower
/// case and digits mixed, as the platform issues them), which is never
/// quoted, whatever field it was found in: a CSV with its columns swapped
/// puts a DeviceSecret where a DeviceName or ProductKey is expected.
pub fn shown(value: &str) -> String {
    if looks_like_secret(value) {
        "(a value shaped like a secret, not shown)".into()
    } else {
        format!("`{value}`")
    }
}

/// Whether `value` has the shape of a DeviceSecret or ProductSecret.
pub fn looks_like_secret(value: &str) -> bool {
    (16..=64).contains(&value.len())
        && value.chars().all(|c| c.is_ascii_alphanumeric())
        && value.chars().any(|c| c.is_ascii_uppercase())
        && value.chars().any(|c| c.is_ascii_lowercase())
        && value.chars().any(|c| c.is_ascii_digit())
}

/// ProductKey length, in characters.
pub const PRODUCT_KEY_LEN: usize = 11;
/// Longest ProductSecret, in characters.
pub const PRODUCT_SECRET_MAX: usize = 32;
/// Longest DeviceName, in characters.
pub const DEVICE_NAME_MAX: usize = 32;
/// Longest DeviceSecret, in characters (what the platform issues).
pub const DEVICE_SECRET_MAX: usize = 32;

/// Characters the platform allows in DeviceName and imported DeviceSecrets.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '@' | '.' | ':')
}

/// ProductKey: 11 alphanumeric characters.
pub fn check_product_key(pk: &str) -> Result<(), String> {
    if pk.is_empty() {
        return Err("must not be empty".into());
    }
    if pk.chars().count() != PRODUCT_KEY_LEN {
        return Err(format!(
            "must be 11 characters, found {}",
            pk.chars().count()
        ));
    }
    if !pk.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err("must be letters and digits only".into());
    }
    Ok(())
}

/// ProductSecret: 16 or 32 alphanumeric characters (the seed says 32, the
/// SDK examples use 16).
pub fn check_product_secret(ps: &str) -> Result<(), String> {
    let n = ps.chars().count();
    if n == 0 {
        return Err("must not be empty".into());
    }
    if n != 16 && n != PRODUCT_SECRET_MAX {
        return Err(format!("must be 16 or 32 characters, found {n}"));
    }
    if !ps.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err("must be letters and digits only".into());
    }
    Ok(())
}

/// DeviceName: 4–32 characters of `A-Za-z0-9-_@.:`.
pub fn check_device_name(dn: &str) -> Result<(), String> {
    let n = dn.chars().count();
    if n == 0 {
        return Err("must not be empty".into());
    }
    if !(4..=DEVICE_NAME_MAX).contains(&n) {
        return Err(format!("must be 4 to 32 characters, found {n}"));
    }
    if let Some(c) = dn.chars().find(|c| !is_name_char(*c)) {
        return Err(format!(
            "may hold only A-Z a-z 0-9 - _ @ . : (found {:?})",
            c
        ));
    }
    Ok(())
}

/// DeviceSecret: 1–32 characters of `A-Za-z0-9-_@.:` (32 alphanumerics when
/// the platform issued it; imported ones may be shorter).
pub fn check_device_secret(ds: &str) -> Result<(), String> {
    let n = ds.chars().count();
    if n == 0 {
        return Err("must not be empty".into());
    }
    if n > DEVICE_SECRET_MAX {
        return Err(format!(
            "must be at most {DEVICE_SECRET_MAX} characters, found {n}"
        ));
    }
    if !ds.chars().all(is_name_char) {
        return Err("may hold only A-Z a-z 0-9 - _ @ . :".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert!(check_product_key("a1X2bEnP82z").is_ok());
        assert!(check_product_key("a1X2bEnP82").is_err());
        assert!(check_product_key("a1X2bEnP8-z").is_err());
        assert!(check_product_secret("7jluWm1zql7bt8qK").is_ok());
        assert!(check_product_secret("7jluWm1zql7bt8qK7jluWm1zql7bt8qK").is_ok());
        assert!(check_product_secret("7jluWm1zql7bt8q").is_err());
        assert!(check_device_name("gw-01@line.3:a").is_ok());
        assert!(check_device_name("abc").is_err());
        assert!(check_device_name("a/b/c/d").is_err());
        assert!(check_device_name(&"x".repeat(33)).is_err());
        assert!(check_device_secret("ga7XA6KdlEeiPXQPpRbAjOZXwG8ydgSe").is_ok());
        assert!(check_device_secret("").is_err());
        assert!(check_device_secret(&"x".repeat(33)).is_err());
        assert!(check_device_secret("a b").is_err());
    }

    #[test]
    fn messages_never_echo_secrets() {
        let e = check_device_secret("sec ret").expect_err("a space is not allowed");
        assert!(!e.contains("sec"));
    }
}
