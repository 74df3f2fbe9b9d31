//! The OpenAPI client: one signed RPC call (`POST /`, the API's parameters
//! in the query and the form body, `x-acs-action`/`x-acs-version` headers,
//! ACS3-HMAC-SHA256 as the current SDKs sign) and its answer checked
//! against the envelope: a gateway error (4xx/5xx with `Code`, `Message`,
//! `RequestId`) or a business error (`Success:false` with `Code`,
//! `ErrorMessage`) becomes [`PlatformError::Refused`].
//!
//! - TLS always verifies the server (Mozilla's roots); plain HTTP is used
//!   only for a loopback `--endpoint` ([`super::endpoint`]).
//! - Each API's calls are paced by its QPS limit, and `Throttling.*` is
//!   retried with backoff ([`super::throttle`]); nothing else is retried.
//! - Answers hold DeviceSecrets: they are read into a buffer that is wiped,
//!   and no answer is ever printed.

use super::credentials::AccessKey;
use super::endpoint::Endpoint;
use super::error::{clean_message, PlatformError};
use super::throttle::{with_retry, Pacer, Retry};
use burnline_core::openapi::{encode::encode, nonce, timestamp, v3};
use burnline_io::say;
use serde::Deserialize;
use std::time::Duration;
use zeroize::Zeroizing;

/// The API version of product `Iot`.
pub const VERSION: &str = "2018-01-20";

/// Largest answer read, in bytes (a page of 50 devices is a few KiB).
const MAX_ANSWER: u64 = 4 * 1024 * 1024;

/// An answer's envelope: what every API's body carries.
#[derive(Deserialize, Default)]
struct Envelope {
    #[serde(rename = "RequestId", default)]
    request_id: String,
    #[serde(rename = "Success", default)]
    success: Option<bool>,
    #[serde(rename = "Code", default)]
    code: Option<serde_json::Value>,
    #[serde(rename = "ErrorMessage", default)]
    error_message: Option<String>,
    #[serde(rename = "Message", default)]
    message: Option<String>,
}

impl Envelope {
    fn code(&self) -> String {
        match &self.code {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        }
    }

    fn refused(&self, api: &str) -> PlatformError {
        PlatformError::Refused {
            api: api.to_owned(),
            code: self.code(),
            message: clean_message(
                self.error_message
                    .as_deref()
                    .or(self.message.as_deref())
                    .unwrap_or(""),
            ),
            request_id: self.request_id.clone(),
        }
    }
}

/// A client of one endpoint, signing with one AccessKey.
pub struct Client {
    agent: ureq::Agent,
    endpoint: Endpoint,
    key: AccessKey,
    instance: Option<String>,
    pacer: Pacer,
    retry: Retry,
}

impl Client {
    /// A client of `endpoint`; `instance` is the `IotInstanceId` sent with
    /// every call (an Enterprise instance's ID).
    pub fn new(endpoint: Endpoint, key: AccessKey, instance: Option<String>) -> Self {
        let timeout = Some(Duration::from_secs(30));
        let mut config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("burnline/", env!("CARGO_PKG_VERSION")))
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_global(timeout);
        if endpoint.scheme == "https" {
            config = config.https_only(true);
        }
        if endpoint.is_loopback() {
            config = config.proxy(None);
        }
        Client {
            agent: config.build().into(),
            endpoint,
            key,
            instance,
            pacer: Pacer::default(),
            retry: Retry::default(),
        }
    }

    /// Calls `action` with `query` and form `body` parameters; returns the
    /// answer's body (JSON, `Success` true). Throttled calls are retried.
    pub fn call(
        &mut self,
        action: &str,
        query: &[(String, String)],
        body: &[(String, String)],
    ) -> Result<Zeroizing<Vec<u8>>, PlatformError> {
        let retry = self.retry;
        with_retry(
            &retry,
            || {
                self.pacer.wait(action);
                self.call_once(action, query, body)
            },
            std::thread::sleep,
            |n, d| {
                say!(
                    "burnline: {action}: throttled by the platform (Throttling), try {} of {} in {:.1} s",
                    n + 1,
                    retry.attempts,
                    d.as_secs_f64()
                )
            },
        )
    }

    fn call_once(
        &self,
        action: &str,
        query: &[(String, String)],
        body: &[(String, String)],
    ) -> Result<Zeroizing<Vec<u8>>, PlatformError> {
        let transport = |detail: String| PlatformError::Transport {
            api: action.to_owned(),
            detail,
        };
        let mut query: Vec<(&str, &str)> = query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if let Some(id) = &self.instance {
            query.push(("IotInstanceId", id));
        }
        let mut form: Vec<(&str, &str)> =
            body.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        form.sort();
        let form = form
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let date = timestamp::now();
        let nonce = nonce::fresh().map_err(|e| transport(format!("no random numbers: {e}")))?;
        let hash = v3::body_hash(form.as_bytes());
        let mut headers: Vec<(&str, &str)> = vec![
            ("host", &self.endpoint.authority),
            ("x-acs-action", action),
            ("x-acs-version", VERSION),
            ("x-acs-date", &date),
            ("x-acs-signature-nonce", &nonce),
            (v3::CONTENT_SHA256, &hash),
            ("accept", "application/json"),
        ];
        if !form.is_empty() {
            headers.push(("content-type", "application/x-www-form-urlencoded"));
        }
        if let Some(token) = &self.key.security_token {
            headers.push(("x-acs-accesskey-id", &self.key.id));
            headers.push(("x-acs-security-token", token.expose()));
        }
        let auth = v3::sign(
            &self.key.id,
            &self.key.secret,
            "POST",
            &query,
            &headers,
            &hash,
        );
        let mut url = self.endpoint.base();
        let q = v3::canonical_query(&query);
        if !q.is_empty() {
            url.push('?');
            url.push_str(&q);
        }
        let mut req = self.agent.post(&url);
        for (k, v) in headers.iter().filter(|(k, _)| *k != "host") {
            req = req.header(*k, *v);
        }
        let result = req
            .header("authorization", auth.header_value())
            .send(form.as_bytes());
        let mut resp = result.map_err(|e| transport(describe(&e)))?;
        let status = resp.status().as_u16();
        let bytes = Zeroizing::new(
            resp.body_mut()
                .with_config()
                .limit(MAX_ANSWER)
                .read_to_vec()
                .map_err(|e| transport(describe(&e)))?,
        );
        let envelope: Envelope = serde_json::from_slice(&bytes).map_err(|e| {
            transport(format!(
                "HTTP {status}: not the OpenAPI's JSON ({})",
                burnline_core::parse_error::json(&e)
            ))
        })?;
        if status >= 400 {
            if envelope.code.is_none() {
                return Err(transport(format!("HTTP {status} without an error code")));
            }
            return Err(envelope.refused(action));
        }
        if envelope.success == Some(false)
            || (envelope.success.is_none() && envelope.code.is_some())
        {
            return Err(envelope.refused(action));
        }
        Ok(bytes)
    }
}

/// A transport failure in words, without the URL's query.
fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(t) => format!("timed out ({t:?})"),
        ureq::Error::Rustls(r) => burnline_core::tls::describe(r, "a trusted certificate"),
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused".into()
        }
        ureq::Error::Io(io) => format!("I/O error: {io}"),
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::ConnectionFailed => "connection failed".into(),
        other => other.to_string(),
    }
}
