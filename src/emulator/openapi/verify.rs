//! The gateway's checks before any API runs: which signature the request
//! carries (V3 `Authorization: ACS3-HMAC-SHA256 …` or V1 `Signature=`
//! among the parameters), the common parameters it needs, a timestamp
//! within [`MAX_SKEW_SECS`] of the emulator's clock, a known AccessKey ID,
//! the signature recomputed from the request ([`super::signature`]), a
//! nonce not seen within [`NONCE_WINDOW_SECS`] for that AccessKey, and
//! version `2018-01-20`. A refusal carries the POP gateway's code and HTTP
//! status (fact sheet section 4).

use super::choices::{MAX_SKEW_SECS, NONCE_WINDOW_SECS, UNKNOWN_ACCESS_KEY_STATUS};
use super::request::Call;
use super::signature::{v1_sign, v1_string_to_sign, v3_sign, v3_string_to_sign, V3};
use crate::emulator::products::AccessKey;
use std::collections::HashMap;
use std::sync::Mutex;

/// The only API version served.
pub const VERSION: &str = "2018-01-20";

/// Headers a V3 request must sign: without them a signature could be
/// replayed with another date, nonce or action.
const MUST_SIGN: [&str; 5] = [
    "host",
    "x-acs-action",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-version",
];

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
    signature: String,
    /// The StringToSign given the AccessKey secret's signing function.
    string_to_sign: String,
    v3: bool,
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
            Some(auth) if auth.starts_with(V3) => v3(call, auth)?,
            _ => v1(call)?,
        };
        let at = time::PrimitiveDateTime::parse(
            &s.timestamp,
            time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z"),
        )
        .map_err(|_| {
            refused(
                400,
                "InvalidTimeStamp.Format",
                "Specified time stamp or date value is not well formatted.",
            )
        })?
        .assume_utc()
        .unix_timestamp();
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
        let expected = if s.v3 {
            v3_sign(key.secret.expose(), &s.string_to_sign)
        } else {
            v1_sign(key.secret.expose(), &s.string_to_sign)
        };
        if !same(expected.as_bytes(), s.signature.as_bytes()) {
            return Err(refused(
                400,
                "SignatureDoesNotMatch",
                format!(
                    "Specified signature is not matched with our calculation. server string to sign is:{}",
                    s.string_to_sign
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

/// Equality in constant time (for equal lengths).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && openssl::memcmp::eq(a, b)
}

/// `Authorization: ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=a;b,Signature=HEX`.
fn v3(call: &Call, auth: &str) -> Result<Signed, Refused> {
    let incomplete = || {
        refused(
            400,
            "IncompleteSignature",
            "The request signature does not conform to Aliyun standards.",
        )
    };
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in auth[V3.len()..].split(',') {
        match part.trim().split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed_headers = Some(v),
            Some(("Signature", v)) => signature = Some(v),
            _ => return Err(incomplete()),
        }
    }
    let (Some(ak), Some(signed_headers), Some(signature)) = (credential, signed_headers, signature)
    else {
        return Err(incomplete());
    };
    let signed: Vec<&str> = signed_headers.split(';').collect();
    if MUST_SIGN.iter().any(|h| !signed.contains(h)) {
        return Err(incomplete());
    }
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
        access_key_id: ak.to_owned(),
        signature: signature.to_owned(),
        string_to_sign: v3_string_to_sign(
            &call.method,
            &call.path,
            &call.query,
            &call.headers,
            &signed,
            &call.body,
        ),
        v3: true,
    })
}

/// V1: the common parameters in the query (or the form body).
fn v1(call: &Call) -> Result<Signed, Refused> {
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
    let params: Vec<(String, String)> = call.query.iter().chain(&call.form).cloned().collect();
    Ok(Signed {
        action: get("Action")?,
        version: get("Version")?,
        access_key_id: get("AccessKeyId")?,
        timestamp: get("Timestamp")?,
        nonce: get("SignatureNonce")?,
        signature,
        string_to_sign: v1_string_to_sign(&call.method, &params),
        v3: false,
    })
}
