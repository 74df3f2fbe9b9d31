//! Output file names. A DeviceName may hold `. : @`, so it is never used raw:
//! every character outside `A-Za-z0-9_-` (and a leading `.`) is written as
//! `%XX`. The encoding is one-to-one, so two DeviceNames never share a file,
//! and a name can never leave the output directory.

/// Checks a pattern such as `{device_name}.img`: it must name the device,
/// use only known placeholders and stay in the output directory.
pub fn check_pattern(pattern: &str) -> Result<(), String> {
    if !pattern.contains("{device_name}") {
        return Err("must contain `{device_name}` so that every device gets its own file".into());
    }
    let literal = pattern
        .replace("{device_name}", "")
        .replace("{product_key}", "");
    if literal.contains(['{', '}']) {
        return Err("knows only the placeholders `{device_name}` and `{product_key}`".into());
    }
    if literal.contains(['/', '\\', '\0']) {
        return Err(
            "must be a plain file name (no `/`), so outputs stay in the output directory".into(),
        );
    }
    if pattern.starts_with('.') {
        return Err(
            "must not start with `.` (names starting with `.` are burnline's temp files)".into(),
        );
    }
    Ok(())
}

/// Encodes a value so it is safe in a file name.
pub fn safe_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' || (c == '.' && i > 0) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// The output file name for a device.
pub fn render(pattern: &str, device_name: &str, product_key: &str) -> String {
    pattern
        .replace("{device_name}", &safe_component(device_name))
        .replace("{product_key}", &safe_component(product_key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe_and_distinct() {
        assert_eq!(
            render("{device_name}.img", "gw:01@a.b", "pk"),
            "gw%3A01%40a.b.img"
        );
        assert_eq!(safe_component(".."), "%2E.");
        assert_ne!(safe_component("a:b"), safe_component("a_b"));
        assert!(check_pattern("{device_name}.img").is_ok());
        assert!(check_pattern("../{device_name}").is_err());
        assert!(check_pattern("x.img").is_err());
        assert!(check_pattern("{device_name}{nope}").is_err());
        assert!(check_pattern(".{device_name}").is_err());
    }
}
