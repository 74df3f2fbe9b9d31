//! The percent-encoding of both OpenAPI signatures: UTF-8, every byte but
//! `A-Za-z0-9-_.~` escaped as upper-case `%XX` (so a space is `%20`, never
//! `+`, `*` is `%2A` and `~` stays). This is Python's `quote(v, safe='~')`
//! and the old SDKs' `percent_encode`, and the same rule as
//! [`crate::registration::form::encode`], which this re-exports (a server
//! decodes what the SDKs send, `+` for a space, with
//! [`crate::registration::form::decode_pairs`]).

pub use crate::registration::form::encode;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3986_rules() {
        assert_eq!(encode("light 1*~"), "light%201%2A~");
        assert_eq!(encode("a-b_c.d"), "a-b_c.d");
        assert_eq!(encode("2016-02-23T12:46:24Z"), "2016-02-23T12%3A46%3A24Z");
        assert_eq!(encode("名"), "%E5%90%8D");
    }
}
