//! The RPC signature the old SDKs send (`SignatureMethod=HMAC-SHA1`,
//! `SignatureVersion=1.0`; Alibaba's newer docs call it V2):
//!
//! 1. every parameter of the query and of the form body except `Signature`,
//!    empty values included, sorted by name in byte order;
//! 2. each name and value percent-encoded ([`super::encode`]), joined as
//!    `k=v` with `&`: the canonicalized query string;
//! 3. `StringToSign = METHOD & %2F & encode(canonicalized query string)`;
//! 4. `Signature = Base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign))`.

use super::encode::encode;
use crate::secret::Secret;
use base64::Engine;
use hmac::{Hmac, Mac};

/// The name of the parameter that carries the signature (never signed).
pub const SIGNATURE: &str = "Signature";

/// The canonicalized query string of `params` (the signature left out).
pub fn canonical_query(params: &[(&str, &str)]) -> String {
    let mut sorted: Vec<&(&str, &str)> = params.iter().filter(|(k, _)| *k != SIGNATURE).collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0).then(a.1.cmp(b.1)));
    sorted
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The string that is signed, for an HTTP `method` (upper case).
pub fn string_to_sign(method: &str, params: &[(&str, &str)]) -> String {
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        encode("/"),
        encode(&canonical_query(params))
    )
}

fn mac(secret: &Secret, string_to_sign: &str) -> Vec<u8> {
    let mut key = zeroize::Zeroizing::new(secret.expose().as_bytes().to_vec());
    key.push(b'&');
    // HMAC takes a key of any length: `new_from_slice` cannot fail.
    match Hmac::<sha1::Sha1>::new_from_slice(&key) {
        Ok(mut m) => {
            m.update(string_to_sign.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// The `Signature` value of a request.
pub fn sign(secret: &Secret, method: &str, params: &[(&str, &str)]) -> String {
    base64::engine::general_purpose::STANDARD.encode(mac(secret, &string_to_sign(method, params)))
}

/// Whether `given` is the signature of the request (every parameter but
/// `Signature` in `params`), compared in constant time.
pub fn verify(secret: &Secret, method: &str, params: &[(&str, &str)], given: &str) -> bool {
    let Ok(given) = base64::engine::general_purpose::STANDARD.decode(given) else {
        return false;
    };
    super::same(&mac(secret, &string_to_sign(method, params)), &given)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc_vector_1() -> Vec<(&'static str, &'static str)> {
        vec![
            ("Version", "2014-05-26"),
            ("AccessKeyId", "testid"),
            ("Action", "DescribeRegions"),
            ("Format", "XML"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
            ("SignatureVersion", "1.0"),
            ("Timestamp", "2016-02-23T12:46:24Z"),
        ]
    }

    #[test]
    fn doc_vector_1_string_and_signature() {
        let secret = Secret::from("testsecret");
        let params = doc_vector_1();
        assert_eq!(
            string_to_sign("GET", &params),
            "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
        );
        assert_eq!(
            sign(&secret, "GET", &params),
            "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
        );
        assert!(verify(
            &secret,
            "GET",
            &params,
            "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
        ));
        // The signature itself is never signed.
        let mut with_sig = params.clone();
        with_sig.push((SIGNATURE, "OLeaidS1JvxuMvnyHOwuJ+uX5qY="));
        assert!(verify(
            &secret,
            "GET",
            &with_sig,
            "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
        ));
        assert!(!verify(
            &secret,
            "POST",
            &params,
            "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
        ));
        assert!(!verify(
            &Secret::from("other"),
            "GET",
            &params,
            "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
        ));
        assert!(!verify(&secret, "GET", &params, "not base64!"));
    }

    #[test]
    fn doc_vector_2() {
        let params = [
            ("AccessKeyId", "testid"),
            ("Action", "DescribeDedicatedHosts"),
            ("Format", "JSON"),
            ("RegionId", "cn-beijing"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "edb2b34af0af9a6d14deaf7c1a5315eb"),
            ("SignatureVersion", "1.0"),
            ("Timestamp", "2023-03-13T08:34:30Z"),
            ("Version", "2014-05-26"),
        ];
        assert_eq!(
            sign(&Secret::from("testsecret"), "GET", &params),
            "9NaGiOspFP5UPcwX8Iwt2YJXXuk="
        );
    }

    #[test]
    fn iot_shaped_vector_encodes_space_star_tilde() {
        let params = [
            ("AccessKeyId", "testid"),
            ("Action", "QueryDeviceDetail"),
            ("DeviceName", "light 1*~"),
            ("Format", "json"),
            ("ProductKey", "a1BwAGV****"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "0123456789abcdef0123456789abcdef"),
            ("SignatureVersion", "1.0"),
            ("Timestamp", "2026-01-02T03:04:05Z"),
            ("Version", "2018-01-20"),
        ];
        assert_eq!(
            string_to_sign("POST", &params),
            "POST&%2F&AccessKeyId%3Dtestid%26Action%3DQueryDeviceDetail%26DeviceName%3Dlight%25201%252A~%26Format%3Djson%26ProductKey%3Da1BwAGV%252A%252A%252A%252A%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D0123456789abcdef0123456789abcdef%26SignatureVersion%3D1.0%26Timestamp%3D2026-01-02T03%253A04%253A05Z%26Version%3D2018-01-20"
        );
        assert_eq!(
            sign(&Secret::from("testsecret"), "POST", &params),
            "AQs5W6Ny7doNh9ajK1lBtegsoq0="
        );
    }

    #[test]
    fn an_empty_value_stays_in_the_string() {
        // The old Python core signs `SignatureType=` (empty).
        let with = [("A", "1"), ("SignatureType", "")];
        assert_eq!(canonical_query(&with), "A=1&SignatureType=");
        assert_ne!(
            sign(&Secret::from("s"), "POST", &with),
            sign(&Secret::from("s"), "POST", &[("A", "1")])
        );
    }
}
