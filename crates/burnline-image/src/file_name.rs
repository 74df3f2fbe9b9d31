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

/// Names burnline itself writes (or signs) in an output directory, besides
/// hidden temp files and the journal: no device output may take one.
pub const RESERVED: &[&str] = &[
    "manifest.json",
    "manifest.json.minisig",
    "SHA256SUMS",
    "SHA256SUMS.minisig",
    "B3SUMS",
    "B3SUMS.minisig",
    "registrations.jsonl",
    "registrations.jsonl.head",
    "registrations.jsonl.head.minisig",
    "burnline-ledger.jsonl",
    "burnline-ledger.jsonl.head",
    "burnline-ledger.jsonl.head.minisig",
    "base.img",
    "base.img.bmap",
    "base.simg",
    ".burnline.lock",
];

/// What a device's outputs add to its image's name: none (the image), its
/// bmap, its delta, and its compressed forms (its Android sparse names,
/// `x.simg` and `x.delta.simg` for `x.img`, are checked too).
const DERIVED_SUFFIXES: &[&str] = &["", ".bmap", ".delta", ".zst", ".xz", ".gz"];

/// The rule a device's output name `file` breaks, if it (or a file derived
/// from it) would take a name burnline writes itself, or look like one of
/// its temp files (which a later run deletes).
pub fn reserved_clash(file: &str) -> Option<String> {
    let sparse = [simg_name(file), delta_simg_name(file)];
    let derived = DERIVED_SUFFIXES
        .iter()
        .map(|suffix| format!("{file}{suffix}"));
    for name in derived.chain(sparse) {
        if RESERVED.contains(&name.as_str()) {
            return Some(format!(
                "output file `{name}` is a name burnline writes itself in the output directory"
            ));
        }
        if name.ends_with(burnline_io::atomic::TEMP_SUFFIX) {
            return Some(format!(
                "output file `{name}` ends like burnline's temp files, which a later run removes"
            ));
        }
    }
    None
}

/// Checks a file name read from a manifest, journal or ledger: a plain name
/// inside its directory, as burnline writes them (not empty, no `/`, no NUL,
/// not hidden), so that following it can never leave the directory.
pub fn check_listed(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("names no file".into());
    }
    if name.contains(['/', '\\', '\0']) || name.starts_with('.') {
        return Err(format!(
            "`{}` is not a plain file name inside the directory",
            name.escape_debug()
        ));
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

/// The name without a trailing `.img`.
fn stem(image_name: &str) -> &str {
    image_name.strip_suffix(".img").unwrap_or(image_name)
}

/// A full image's sparse name: `x.img` → `x.simg` (other names get
/// `.simg` added).
pub fn simg_name(image_name: &str) -> String {
    format!("{}.simg", stem(image_name))
}

/// A delta's sparse name: `x.img` → `x.delta.simg`.
pub fn delta_simg_name(image_name: &str) -> String {
    format!("{}.delta.simg", stem(image_name))
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

    #[test]
    fn reserved_and_listed_names() {
        for dn in [
            "registrations.jsonl",
            "manifest.json",
            "SHA256SUMS",
            "base",
            "B3SUMS",
        ] {
            let file = render("{device_name}", dn, "pk");
            let file_img = render("{device_name}.img", dn, "pk");
            assert!(
                reserved_clash(&file).is_some() || reserved_clash(&file_img).is_some(),
                "{dn}"
            );
        }
        assert!(reserved_clash("base.img").is_some());
        assert!(reserved_clash("x.burnline-tmp").is_some());
        assert!(reserved_clash("gw-000001.img").is_none());
        assert!(check_listed("gw-000001.img").is_ok());
        for bad in [
            "../../victim.txt",
            "/etc/passwd",
            "",
            ".hidden",
            "a/b",
            "a\0b",
        ] {
            assert!(check_listed(bad).is_err(), "{bad}");
        }
    }
}
