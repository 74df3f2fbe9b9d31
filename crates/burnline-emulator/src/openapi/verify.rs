//! The gateway's checks before any API runs: which signature the request
//! carries (V3 `Authorization: ACS3-HMAC-SHA256 …` or V1 `Signature=`
//! among the parameters), the common parameters it needs, a timestamp
//! within [`MAX_SKEW_SECS`] of the emulator's clock, a known AccessKey ID,
//! the signature recomputed from the request (burnline-core's
//! [`burnline_core::openapi`], the same functions `burnline platform`
//! signs with), a
//! nonce not seen within [`NONCE_WINDOW_SECS`] for that AccessKey, and
//! version `2018-01-20`. A refusal carries the POP gateway's code and HTTP
//! status (fact sheet section 4).

use super::choices::{MAX_SKEW_SECS, NONCE_WINDOW_SECS, UNKNOWN_ACCESS_KEY_STATUS};
use super::request::Call;
use crate::products::AccessKey;
use burnline_core::openapi::{timestamp, v1, v3};
use burnline_core::secret::Secret;
use std::collections::HashMap;
use std::sync::Mutex;

/// The only API version served.
pub const VERSION: &str = "2018-01-20";

/// A request the gateway refuses.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused {
    /// HTTP status.
    pub status: u16,
    /// The gateway's `Code`.
    pub code: &'static str,
    /// Its `Message`.
    pub message: String,
}

fn refused(status: u16, code: &'static str, message: impl Into<String>) -> Refused {
    Refused {
        status,
        code,
        message: message.into(),
    }
}

fn missing(name: &str) -> Refused {
    refused(
        400,
        "MissingParameter",
        format!("The input parameter \"{name}\" that is mandatory for processing this request is not supplied."),
    )
}

/// A request that passed the gateway.
#[derive(Debug, PartialEq, Eq)]
pub struct Verified {
    /// The API asked for.
    pub action: String,
    /// The AccessKey ID that signed it.
    pub access_key_id: String,
}

/// What one signature scheme read from the request.
struct Signed {
    action: String,
    version: String,
    access_key_id: String,
    timestamp: String,
    nonce: String,
    scheme: Scheme,
}

/// The signature a request carries.
enum Scheme {
    /// `Authorization: ACS3-HMAC-SHA256 …`.
    V3(v3::Authorization),
    /// `Signature=` among the parameters.
    V1(String),
}

/// The AccessKeys and the nonces seen.
#[derive(Debug)]
pub struct Gate {
    keys: Vec<AccessKey>,
    /// (AccessKey ID, nonce) → when it was seen (seconds since the epoch).
    nonces: Mutex<HashMap<(String, String), i64>>,
}

impl Gate {
    /// A gateway taking `keys`.
    pub fn new(keys: Vec<AccessKey>) -> Self {
        Gate {
            keys,
            nonces: Mutex::new(HashMap::new()),
        }
    }

    /// Checks `call` at `now` (seconds since the epoch).
    pub fn check(&self, call: &Call, now: i64) -> Result<Verified, Refused> {
        let s = match call.header("authorization") {
            Some(auth) if auth.starts_with(v3::ALGORITHM) => with_v3(call, auth)?,
            _ => with_v1(call)?,
        };
        let at = timestamp::parse(&s.timestamp).ok_or_else(|| {
            refused(
                400,
                "InvalidTimeStamp.Format",
                "Specified time stamp or date value is not well formatted.",
            )
        })?;
        if (now - at).abs() > MAX_SKEW_SECS {
            return Err(refused(
                400,
                "InvalidTimeStamp.Expired",
                "Specified time stamp or date value is expired.",
            ));
        }
        let Some(key) = self.keys.iter().find(|k| k.id == s.access_key_id) else {
            return Err(refused(
                UNKNOWN_ACCESS_KEY_STATUS,
                "InvalidAccessKeyId.NotFound",
                "Specified access key is not found.",
            ));
        };
        if let Some(string_to_sign) = mismatch(call, &key.secret, &s.scheme) {
            return Err(refused(
                400,
                "SignatureDoesNotMatch",
                format!(
                    "Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}"
                ),
            ));
        }
        {
            let mut nonces = self
                .nonces
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let window = i64::try_from(NONCE_WINDOW_SECS).unwrap_or(i64::MAX);
            nonces.retain(|_, seen| now - *seen <= window);
            if nonces
                .insert((s.access_key_id.clone(), s.nonce.clone()), now)
                .is_some()
            {
                return Err(refused(
                    400,
                    "SignatureNonceUsed",
                    "Specified signature nonce was used already.",
                ));
            }
        }
        if s.version != VERSION {
            return Err(refused(
                400,
                "InvalidVersion",
                format!("Specified parameter Version is not valid: Iot has {VERSION}."),
            ));
        }
        Ok(Verified {
            action: s.action,
            access_key_id: s.access_key_id,
        })
    }
}

fn pairs(p: &[(String, String)]) -> Vec<(&str, &str)> {
    p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// `None` if the signature holds, else the server's StringToSign (which
/// the old SDKs compare with theirs).
fn mismatch(call: &Call, secret: &Secret, scheme: &Scheme) -> Option<String> {
    match scheme {
        Scheme::V3(auth) => {
            let headers = pairs(&call.headers);
            let query = pairs(&call.query);
            if v3::verify(
                secret,
                &call.method,
                &call.path,
                &query,
                &headers,
                &call.body,
                auth,
            ) {
                return None;
            }
            let signed: Vec<&str> = auth.signed_headers.iter().map(String::as_str).collect();
            let request = v3::canonical_request(
                &call.method,
                &call.path,
                &query,
                &headers,
                &signed,
                &v3::body_hash(&call.body),
            )
            .unwrap_or_default();
            Some(v3::string_to_sign(&request))
        }
        Scheme::V1(given) => {
            let mut params = pairs(&call.query);
            params.extend(pairs(&call.form));
            if v1::verify(secret, &call.method, &params, given) {
                return None;
            }
            Some(v1::string_to_sign(&call.method, &params))
        }
    }
}

/// `Authorization: ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=a;b,Signature=HEX`,
/// with the action, version, date and nonce in `x-acs-*` headers.
fn with_v3(call: &Call, auth: &str) -> Result<Signed, Refused> {
    let auth = v3::Authorization::parse(auth).ok_or_else(|| {
        refused(
            400,
            "IncompleteSignature",
            "The request signature does not conform to Aliyun standards.",
        )
    })?;
    let header = |name: &str, param: &str| {
        call.header(name)
            .map(str::to_owned)
            .ok_or_else(|| missing(param))
    };
    Ok(Signed {
        action: header("x-acs-action", "Action")?,
        version: header("x-acs-version", "Version")?,
        timestamp: header("x-acs-date", "Timestamp")?,
        nonce: header("x-acs-signature-nonce", "SignatureNonce")?,
        access_key_id: auth.access_key_id.clone(),
        scheme: Scheme::V3(auth),
    })
}

/// V1: the common parameters in the query (or the form body).
fn with_v1(call: &Call) -> Result<Signed, Refused> {
    let get = |name: &str| {
        call.param(name)
            .map(str::to_owned)
            .ok_or_else(|| missing(name))
    };
    let signature = get("Signature")?;
    let method = get("SignatureMethod")?;
    if method != "HMAC-SHA1" || call.param("SignatureVersion") != Some("1.0") {
        return Err(refused(
            400,
            "InvalidParameter",
            "SignatureMethod must be HMAC-SHA1 and SignatureVersion 1.0 (or sign with ACS3-HMAC-SHA256).",
        ));
    }
    Ok(Signed {
        action: get("Action")?,
        version: get("Version")?,
        access_key_id: get("AccessKeyId")?,
        timestamp: get("Timestamp")?,
        nonce: get("SignatureNonce")?,
        scheme: Scheme::V1(signature),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "testsecret";

    /// A V1-signed call at `stamp` with `nonce`.
    fn call(stamp: &str, nonce: &str) -> Call {
        let mut params = vec![
            ("AccessKeyId", "testid"),
            ("Action", "BatchGetDeviceState"),
            ("Version", VERSION),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
            ("SignatureNonce", nonce),
            ("Timestamp", stamp),
            ("SignatureType", ""),
        ];
        let signature = v1::sign(&Secret::from(SECRET), "POST", &params);
        params.push(("Signature", &signature));
        let query = burnline_core::registration::form::encode_pairs(&params);
        Call::new("POST", "/", Some(&query), Vec::new(), Vec::new()).expect("call")
    }

    fn gate() -> Gate {
        Gate::new(vec![AccessKey {
            id: "testid".into(),
            secret: Secret::from(SECRET),
        }])
    }

    #[test]
    fn skew_and_nonce_window() {
        let gate = gate();
        let now = timestamp::parse("2026-01-02T03:04:05Z").expect("time");
        let code = |c: &Call, at: i64| gate.check(c, at).err().map(|r| r.code);
        // 15 minutes either way is taken; a second more is not.
        assert_eq!(code(&call("2026-01-02T02:49:05Z", "a"), now), None);
        assert_eq!(code(&call("2026-01-02T03:19:05Z", "b"), now), None);
        assert_eq!(
            code(&call("2026-01-02T02:49:04Z", "c"), now),
            Some("InvalidTimeStamp.Expired")
        );
        assert_eq!(
            code(&call("2026-01-02 03:04:05", "d"), now),
            Some("InvalidTimeStamp.Format")
        );
        // A nonce is refused within 31 minutes, taken again after.
        let c = call("2026-01-02T03:04:05Z", "e");
        assert_eq!(code(&c, now), None);
        assert_eq!(code(&c, now + 60), Some("SignatureNonceUsed"));
        let later = call("2026-01-02T03:40:05Z", "e");
        assert_eq!(code(&later, now + 36 * 60), None);
        // A refused signature does not use up its nonce.
        let mut bad = call("2026-01-02T03:04:05Z", "f");
        bad.query.retain(|(k, _)| k != "SignatureType");
        assert_eq!(code(&bad, now), Some("SignatureDoesNotMatch"));
        assert_eq!(code(&call("2026-01-02T03:04:05Z", "f"), now), None);
    }
}
