//! The percent-encoding of both OpenAPI signatures: UTF-8, every byte but
//! `A-Za-z0-9-_.~` escaped as upper-case `%XX` (so a space is `%20`, never
//! `+`, `*` is `%2A` and `~` stays). This is Python's `quote(v, safe='~')`
//! and the old SDKs' `percent_encode`, and the same rule as
//! [`crate::registration::form::encode`], which this re-exports.

pub use crate::registration::form::{decode as form_decode, encode};

/// A query string or form body as sent by the SDKs (`urlencode`: a space as
/// `+`), decoded into pairs in their order; `None` if an escape is broken.
pub fn decode_query(query: &str) -> Option<Vec<(String, String)>> {
    crate::registration::form::decode_pairs(query)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3986_rules() {
        assert_eq!(encode("light 1*~"), "light%201%2A~");
        assert_eq!(encode("a-b_c.d"), "a-b_c.d");
        assert_eq!(encode("2016-02-23T12:46:24Z"), "2016-02-23T12%3A46%3A24Z");
        assert_eq!(encode("名"), "%E5%90%8D");
        let q = decode_query("DeviceName=light+1%2A~&ProductKey=pk").expect("decodes");
        assert_eq!(q[0], ("DeviceName".into(), "light 1*~".into()));
    }
}
