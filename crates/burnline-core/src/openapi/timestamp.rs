//! The OpenAPI's request time, ISO 8601 in UTC to the second
//! (`2016-01-04T12:00:00Z`): `Timestamp` in V1, `x-acs-date` in V3. A
//! client formats the current time; a server parses the client's to refuse
//! a stale request.

use crate::civil::{civil, days_from_civil};
use std::time::{SystemTime, UNIX_EPOCH};

/// `YYYY-MM-DDThh:mm:ssZ` of seconds since 1970.
pub fn format(secs: i64) -> String {
    let (y, m, d) = civil(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// The current time, formatted.
pub fn now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format(i64::try_from(secs).unwrap_or(i64::MAX))
}

/// Seconds since 1970 of `YYYY-MM-DDThh:mm:ssZ`; `None` for any other
/// shape or an impossible date or time.
pub fn parse(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        let part = s.get(from..to)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (y, m, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, se) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
    if d == 0 || d > month_days || h > 23 || mi > 59 || se > 59 {
        return None;
    }
    Some(days_from_civil(i64::from(y), m, d) * 86_400 + i64::from(h * 3600 + mi * 60 + se))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ways() {
        assert_eq!(format(0), "1970-01-01T00:00:00Z");
        assert_eq!(parse("2016-02-23T12:46:24Z"), Some(1_456_231_584));
        assert_eq!(format(1_456_231_584), "2016-02-23T12:46:24Z");
        assert_eq!(
            parse("2024-02-29T23:59:59Z").map(format).as_deref(),
            Some("2024-02-29T23:59:59Z")
        );
        for bad in [
            "2023-02-29T00:00:00Z",
            "2016-02-23T24:00:00Z",
            "2016-02-23 12:46:24Z",
            "2016-02-23T12:46:24",
            "2016-02-23T12:46:24+08:00",
            "2016-2-23T12:46:24Z",
            "",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        let n = now();
        assert_eq!(parse(&n).map(format), Some(n));
    }
}
