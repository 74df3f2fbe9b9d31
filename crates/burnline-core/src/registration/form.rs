//! `application/x-www-form-urlencoded`, both ways: the client encodes the
//! registration body, the emulator decodes it. Encoding escapes everything
//! but `A-Za-z0-9-_.~` (so `@` and `:` in a DeviceName go as `%40`, `%3A`,
//! as the Python SDK sends them); decoding takes `+` for a space and `%XX`
//! escapes in either case, as a server must since the C SDKs send raw bytes.

/// Percent-encodes one name or value.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Encodes name/value pairs as a form body, in the given order.
pub fn encode_pairs(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes one name or value; `None` for a broken `%` escape or bytes that
/// are not UTF-8.
pub fn decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = hex_val(*bytes.get(i + 1)?)?;
                let lo = hex_val(*bytes.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Decodes a whole form body into pairs; `None` if any part is broken.
pub fn decode_pairs(body: &str) -> Option<Vec<(String, String)>> {
    body.split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            Some((decode(k)?, decode(v)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_sdk_styles() {
        let body = encode_pairs(&[("deviceName", "gw-01@line.3:a"), ("x", "a b")]);
        assert_eq!(body, "deviceName=gw-01%40line.3%3Aa&x=a%20b");
        let pairs = decode_pairs(&body).expect("decodes");
        assert_eq!(pairs[0], ("deviceName".into(), "gw-01@line.3:a".into()));
        assert_eq!(pairs[1], ("x".into(), "a b".into()));
        // C SDK style: raw `@` and `:`; `+` for space; lower-case escapes.
        let raw = decode_pairs("deviceName=gw-01@line.3:a&y=a+b%3a").expect("decodes");
        assert_eq!(raw[0].1, "gw-01@line.3:a");
        assert_eq!(raw[1].1, "a b:");
        assert_eq!(decode("%4"), None);
        assert_eq!(decode("%zz"), None);
        assert_eq!(decode("%ff"), None);
    }
}
