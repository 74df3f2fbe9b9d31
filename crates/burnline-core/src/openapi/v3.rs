//! ACS3-HMAC-SHA256, the signature of the current SDKs (Tea/Darabonba),
//! which send the action and version as `x-acs-action`/`x-acs-version`
//! headers and only the API's parameters in the query:
//!
//! ```text
//! CanonicalRequest = METHOD \n "/" \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n hex(sha256(body))
//! CanonicalQuery   = names sorted, name=encode(value) joined by &
//! CanonicalHeaders = lower-case names sorted, name:trim(value)\n each
//!                    (a repeated name: its values sorted, joined by ,)
//! StringToSign     = "ACS3-HMAC-SHA256\n" + hex(sha256(CanonicalRequest))
//! Signature        = hex(HMAC-SHA256(AccessKeySecret, StringToSign))
//! Authorization    = ACS3-HMAC-SHA256 Credential=<AK>,SignedHeaders=<h1;h2>,Signature=<hex>
//! ```
//!
//! The Python SDK signs every header it sends and the Go SDK only `host`,
//! `content-type` and `x-acs-*`, so a server recomputes over the names in
//! the request's `SignedHeaders` ([`verify`]), never over a fixed set.

use super::encode::encode;
use crate::secret::Secret;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The algorithm's name, first in the `Authorization` header.
pub const ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// The header that carries the hex SHA-256 of the body.
pub const CONTENT_SHA256: &str = "x-acs-content-sha256";

/// Lower-case hex SHA-256 of a body (`x-acs-content-sha256`).
pub fn body_hash(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// The canonical query: names sorted, each `name=value` percent-encoded,
/// joined by `&` (empty for no parameters).
pub fn canonical_query(query: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(String, String)> =
        query.iter().map(|(k, v)| (encode(k), encode(v))).collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The canonical headers (each line ending in `\n`) and the signed-headers
/// list (`a;b;c`) over the headers named in `signed` (any case); `None` if
/// a named header is missing from `headers`.
pub fn canonical_headers(headers: &[(&str, &str)], signed: &[&str]) -> Option<(String, String)> {
    let mut names: Vec<String> = signed.iter().map(|n| n.to_ascii_lowercase()).collect();
    names.sort();
    names.dedup();
    let mut lines = String::new();
    for name in &names {
        let mut values: Vec<&str> = headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .collect();
        if values.is_empty() {
            return None;
        }
        values.sort_unstable();
        lines.push_str(name);
        lines.push(':');
        lines.push_str(&values.join(","));
        lines.push('\n');
    }
    Some((lines, names.join(";")))
}

/// The canonical request of a request whose body hashes to `payload_hash`;
/// `None` if a header named in `signed` is missing.
pub fn canonical_request(
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    headers: &[(&str, &str)],
    signed: &[&str],
    payload_hash: &str,
) -> Option<String> {
    let (lines, names) = canonical_headers(headers, signed)?;
    let path = if path.is_empty() { "/" } else { path };
    Some(format!(
        "{}\n{path}\n{}\n{lines}\n{names}\n{payload_hash}",
        method.to_ascii_uppercase(),
        canonical_query(query)
    ))
}

/// The string that is signed.
pub fn string_to_sign(canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    )
}

fn mac(secret: &Secret, string_to_sign: &str) -> Vec<u8> {
    // HMAC takes a key of any length: `new_from_slice` cannot fail.
    match Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) {
        Ok(mut m) => {
            m.update(string_to_sign.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// The `Authorization` header's parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The AccessKey ID (`Credential=`).
    pub access_key_id: String,
    /// The signed header names, lower case, in the order given.
    pub signed_headers: Vec<String>,
    /// The signature, lower-case hex.
    pub signature: String,
}

impl Authorization {
    /// Parses `ACS3-HMAC-SHA256 Credential=..,SignedHeaders=..,Signature=..`;
    /// `None` for another algorithm or a missing part.
    pub fn parse(header: &str) -> Option<Self> {
        let rest = header.trim().strip_prefix(ALGORITHM)?;
        if !rest.starts_with(' ') {
            return None;
        }
        let (mut credential, mut signed, mut signature) = (None, None, None);
        for part in rest.split(',') {
            let (k, v) = part.trim().split_once('=')?;
            match k {
                "Credential" => credential = Some(v.to_owned()),
                "SignedHeaders" => {
                    signed = Some(v.split(';').map(str::to_ascii_lowercase).collect())
                }
                "Signature" => signature = Some(v.to_ascii_lowercase()),
                _ => return None,
            }
        }
        Some(Authorization {
            access_key_id: credential.filter(|c| !c.is_empty())?,
            signed_headers: signed.filter(|s: &Vec<String>| s.iter().all(|h| !h.is_empty()))?,
            signature: signature?,
        })
    }

    /// The header's value.
    pub fn header_value(&self) -> String {
        format!(
            "{ALGORITHM} Credential={},SignedHeaders={},Signature={}",
            self.access_key_id,
            self.signed_headers.join(";"),
            self.signature
        )
    }
}

/// Signs a request the way the Python SDK does: every header in `headers`
/// is signed (they must include `host`, `x-acs-action`, `x-acs-version`,
/// `x-acs-date`, `x-acs-signature-nonce` and [`CONTENT_SHA256`], whose value
/// is the hash of the body that is sent).
pub fn sign(
    access_key_id: &str,
    secret: &Secret,
    method: &str,
    query: &[(&str, &str)],
    headers: &[(&str, &str)],
    payload_hash: &str,
) -> Authorization {
    let names: Vec<&str> = headers.iter().map(|(k, _)| *k).collect();
    // Every name comes from `headers`, so none is missing.
    let request =
        canonical_request(method, "/", query, headers, &names, payload_hash).unwrap_or_default();
    let (_, signed) = canonical_headers(headers, &names).unwrap_or_default();
    Authorization {
        access_key_id: access_key_id.to_owned(),
        signed_headers: signed.split(';').map(str::to_owned).collect(),
        signature: hex::encode(mac(secret, &string_to_sign(&request))),
    }
}

/// Whether `auth` is the signature of the request with this method, path,
/// query (decoded pairs), headers (any case) and body, under `secret`. The
/// body's hash is computed here, so a body changed on the way fails; so do
/// a signed header missing from the request and a signed-headers list that
/// leaves out `host`, `x-acs-action`, `x-acs-date` or
/// `x-acs-signature-nonce` (they would not be protected).
pub fn verify(
    secret: &Secret,
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    headers: &[(&str, &str)],
    body: &[u8],
    auth: &Authorization,
) -> bool {
    const REQUIRED: [&str; 4] = [
        "host",
        "x-acs-action",
        "x-acs-date",
        "x-acs-signature-nonce",
    ];
    if !REQUIRED
        .iter()
        .all(|r| auth.signed_headers.iter().any(|h| h == r))
    {
        return false;
    }
    let Ok(given) = hex::decode(&auth.signature) else {
        return false;
    };
    let signed: Vec<&str> = auth.signed_headers.iter().map(String::as_str).collect();
    let Some(request) = canonical_request(method, path, query, headers, &signed, &body_hash(body))
    else {
        return false;
    };
    super::same(&mac(secret, &string_to_sign(&request)), &given)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn doc_headers() -> Vec<(&'static str, &'static str)> {
        vec![
            ("host", "ecs.cn-shanghai.aliyuncs.com"),
            ("x-acs-action", "RunInstances"),
            ("x-acs-version", "2014-05-26"),
            ("x-acs-date", "2023-10-26T10:22:32Z"),
            ("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"),
            ("x-acs-content-sha256", EMPTY),
        ]
    }

    const DOC_QUERY: [(&str, &str); 2] = [
        (
            "ImageId",
            "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd",
        ),
        ("RegionId", "cn-shanghai"),
    ];

    #[test]
    fn doc_vector() {
        assert_eq!(body_hash(b""), EMPTY);
        let secret = Secret::from("YourAccessKeySecret");
        let auth = sign(
            "YourAccessKeyId",
            &secret,
            "POST",
            &DOC_QUERY,
            &doc_headers(),
            EMPTY,
        );
        assert_eq!(
            auth.header_value(),
            "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
        );
        // The server's side: parse and recompute.
        let parsed = Authorization::parse(&auth.header_value()).expect("parses");
        assert_eq!(parsed, auth);
        assert!(verify(
            &secret,
            "POST",
            "/",
            &DOC_QUERY,
            &doc_headers(),
            b"",
            &parsed
        ));
        // Header names arrive in any case and order.
        let mut shuffled: Vec<(String, String)> = doc_headers()
            .iter()
            .rev()
            .map(|(k, v)| (k.to_ascii_uppercase(), format!(" {v} ")))
            .collect();
        shuffled.push(("x-unsigned".into(), "anything".into()));
        let shuffled: Vec<(&str, &str)> = shuffled
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert!(verify(
            &secret, "POST", "/", &DOC_QUERY, &shuffled, b"", &parsed
        ));
    }

    #[test]
    fn tampering_fails() {
        let secret = Secret::from("YourAccessKeySecret");
        let auth = sign(
            "YourAccessKeyId",
            &secret,
            "POST",
            &DOC_QUERY,
            &doc_headers(),
            EMPTY,
        );
        assert!(!verify(
            &Secret::from("x"),
            "POST",
            "/",
            &DOC_QUERY,
            &doc_headers(),
            b"",
            &auth
        ));
        assert!(!verify(
            &secret,
            "POST",
            "/",
            &DOC_QUERY[..1],
            &doc_headers(),
            b"",
            &auth
        ));
        assert!(!verify(
            &secret,
            "POST",
            "/",
            &DOC_QUERY,
            &doc_headers(),
            b"x",
            &auth
        ));
        let mut headers = doc_headers();
        headers[1].1 = "DeleteInstance";
        assert!(!verify(
            &secret, "POST", "/", &DOC_QUERY, &headers, b"", &auth
        ));
        // A signed header that is not in the request.
        headers.remove(1);
        assert!(!verify(
            &secret, "POST", "/", &DOC_QUERY, &headers, b"", &auth
        ));
        // A signed-headers list that leaves the nonce unprotected.
        let mut weak = auth.clone();
        weak.signed_headers.retain(|h| h != "x-acs-signature-nonce");
        assert!(!verify(
            &secret,
            "POST",
            "/",
            &DOC_QUERY,
            &doc_headers(),
            b"",
            &weak
        ));
    }

    #[test]
    fn iot_shaped_vector_with_the_python_header_set() {
        let headers = [
            ("accept", "application/json"),
            ("host", "127.0.0.1:8080"),
            (
                "user-agent",
                "AlibabaCloud (Linux; x86_64) Python/3.11.2 Core/0.4.3 TeaDSL/2",
            ),
            ("x-acs-action", "QueryDeviceDetail"),
            ("x-acs-credentials-provider", "static_ak"),
            ("x-acs-date", "2026-01-02T03:04:05Z"),
            ("x-acs-signature-nonce", "0123456789abcdef0123456789abcdef"),
            ("x-acs-version", "2018-01-20"),
            ("x-acs-content-sha256", EMPTY),
        ];
        let query = [("ProductKey", "a1BwAGVabcd"), ("DeviceName", "light 1*~")];
        assert_eq!(
            canonical_query(&query),
            "DeviceName=light%201%2A~&ProductKey=a1BwAGVabcd"
        );
        let auth = sign(
            "testid",
            &Secret::from("testsecret"),
            "POST",
            &query,
            &headers,
            EMPTY,
        );
        assert_eq!(
            auth.signature,
            "d90d4a5a5ce2f8c88e8464b60324082ef5b4540c36e52c8431931c032e45c078"
        );
    }

    #[test]
    fn authorization_parsing_refuses_malformed() {
        for bad in [
            "",
            "ACS3-HMAC-SHA256",
            "ACS3-HMAC-SHA256Credential=a,SignedHeaders=host,Signature=00",
            "ACS3-HMAC-SHA1 Credential=a,SignedHeaders=host,Signature=00",
            "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host",
            "ACS3-HMAC-SHA256 Credential=,SignedHeaders=host,Signature=00",
            "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host;;x,Signature=00",
            "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host,Signature=00,Extra=1",
        ] {
            assert_eq!(Authorization::parse(bad), None, "{bad}");
        }
        let ok = Authorization::parse(
            "ACS3-HMAC-SHA256 Credential=a, SignedHeaders=Host;x-acs-date, Signature=AB",
        )
        .expect("parses");
        assert_eq!(ok.signed_headers, ["host", "x-acs-date"]);
        assert_eq!(ok.signature, "ab");
    }
}
