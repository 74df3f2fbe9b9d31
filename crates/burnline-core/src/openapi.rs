//! The Alibaba Cloud OpenAPI's request signatures (product `Iot`, version
//! 2018-01-20), as pure functions that both sides use: a client signs with
//! them and a server recomputes and compares with them.
//!
//! - [`v3`]: ACS3-HMAC-SHA256, what the current (Tea/Darabonba) SDKs send;
//! - [`v1`]: the RPC HMAC-SHA1 signature of the old SDKs and of the Tea
//!   SDK's `signature_algorithm='v2'`;
//! - [`encode`]: the RFC 3986 percent-encoding both signatures use;
//! - [`timestamp`]: the `YYYY-MM-DDThh:mm:ssZ` time both carry, both ways;
//! - [`nonce`]: the per-request nonce.
//!
//! The rules and the test vectors come from the fact sheet
//! (`shared/domain/alibaba-openapi.md`, section 2).

pub mod encode;
pub mod nonce;
pub mod timestamp;
pub mod v1;
pub mod v3;

/// Whether two byte strings are equal, in a time that does not depend on
/// where they first differ (lengths are not secret).
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
