//! Partition types: GPT type GUIDs and MBR type bytes, with the aliases a
//! recipe may use instead.

use uuid::Uuid;

/// A resolved partition type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartType {
    /// A GPT partition type GUID.
    Gpt(Uuid),
    /// An MBR partition type byte.
    Mbr(u8),
}

const GPT_ALIASES: &[(&str, &str)] = &[
    ("linux", "0fc63daf-8483-4772-8e79-3d69d8477de4"),
    ("esp", "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"),
    ("swap", "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f"),
    ("basic-data", "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7"),
    ("msdata", "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7"),
];

const MBR_ALIASES: &[(&str, u8)] = &[
    ("linux", 0x83),
    ("esp", 0xef),
    ("swap", 0x82),
    ("fat12", 0x01),
    ("fat16", 0x0e),
    ("fat32", 0x0c),
    ("basic-data", 0x0c),
    ("msdata", 0x0c),
];

/// The alias names, for error messages.
pub fn alias_names(gpt: bool) -> String {
    if gpt {
        GPT_ALIASES
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    } else {
        MBR_ALIASES
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Resolves a GPT type from an alias or a GUID.
pub fn gpt_type(text: &str) -> Result<Uuid, String> {
    let key = text.trim().to_ascii_lowercase();
    if let Some((_, g)) = GPT_ALIASES.iter().find(|(n, _)| *n == key) {
        return Uuid::parse_str(g).map_err(|e| e.to_string());
    }
    Uuid::parse_str(&key).map_err(|_| {
        format!(
            "{} is neither a GPT type GUID nor one of: {}",
            burnline_core::identity::rules::shown(text),
            alias_names(true)
        )
    })
}

/// Resolves an MBR type from an alias, `0x83` or a decimal byte.
pub fn mbr_type(text: &str) -> Result<u8, String> {
    let key = text.trim().to_ascii_lowercase();
    if let Some((_, b)) = MBR_ALIASES.iter().find(|(n, _)| *n == key) {
        return Ok(*b);
    }
    let parsed = match key.strip_prefix("0x") {
        Some(hex) => u8::from_str_radix(hex, 16).ok(),
        None => key.parse::<u8>().ok(),
    };
    match parsed {
        Some(0) | None => Err(format!(
            "{} is neither an MBR type byte (1..=255, such as 0x83) nor one of: {}",
            burnline_core::identity::rules::shown(text),
            alias_names(false)
        )),
        Some(b) => Ok(b),
    }
}

/// The GPT name of a well-known type, for `plan` and `inspect`.
pub fn gpt_type_name(guid: &Uuid) -> String {
    let s = guid.to_string();
    GPT_ALIASES
        .iter()
        .find(|(_, g)| *g == s)
        .map(|(n, _)| (*n).to_owned())
        .unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_and_literals() {
        assert_eq!(
            gpt_type("ESP").map(|u| u.to_string()),
            Ok("c12a7328-f81f-11d2-ba4b-00a0c93ec93b".to_owned())
        );
        assert!(gpt_type("bogus").is_err());
        assert_eq!(mbr_type("0x83"), Ok(0x83));
        assert_eq!(mbr_type("12"), Ok(12));
        assert_eq!(mbr_type("fat32"), Ok(0x0c));
        assert!(mbr_type("0x100").is_err());
        assert!(mbr_type("0").is_err());
    }
}
