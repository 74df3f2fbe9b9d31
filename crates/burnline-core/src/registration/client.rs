//! The dynamic registration client: one signed `POST /auth/register/device`
//! over HTTPS, answered with the device's DeviceSecret. It depends only on
//! the signing, endpoint and secret modules, so that the device-side
//! bootstrap can reuse it without the image-building code.
//!
//! - TLS always verifies the server's certificate against Mozilla's roots;
//!   [`ClientOptions::ca_pem`] adds CAs for a private endpoint. There is no
//!   way to switch verification off.
//! - Timeouts: 10 s to connect, 30 s to read the answer (both adjustable).
//! - Retries: at most [`ClientOptions::attempts`] tries, and only when no
//!   byte of the request left this machine ([`super::sent`]: connection
//!   refused, name not resolved, connect timeout, a connection ended during
//!   the TLS handshake). Such a failure says that the request was not sent
//!   and a retry is safe. Once the server may have seen the request, it is
//!   never sent again, and the failure says so: the platform issues a
//!   DeviceSecret only once.
//! - No redirects are followed; no proxy is used for a loopback endpoint.

use super::endpoint::Endpoint;
use super::error::{clean_message, RegisterError};
use super::form;
use super::random::alphanumeric;
use super::sign::{sign, SignMethod};
use crate::secret::Secret;
use serde::Deserialize;
use std::time::Duration;
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};
use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{Connector, DefaultConnector};
use zeroize::Zeroizing;

/// The registration request's content type.
const FORM: &str = "application/x-www-form-urlencoded";

/// Largest answer read, in bytes.
const MAX_ANSWER: u64 = 64 * 1024;

/// How the client connects.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Extra CA certificates (PEM) trusted besides Mozilla's roots.
    pub ca_pem: Option<Vec<u8>>,
    /// Time allowed to connect (and resolve).
    pub connect_timeout: Duration,
    /// Time allowed for sending the request and reading the answer.
    pub read_timeout: Duration,
    /// Tries in all, for failures before the request was sent (at least 1).
    pub attempts: u32,
    /// Pause before the n-th retry: n times this.
    pub retry_pause: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            ca_pem: None,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            attempts: 3,
            retry_pause: Duration::from_millis(500),
        }
    }
}

/// A registered device: the full triple.
#[derive(Debug)]
pub struct Registered {
    /// ProductKey.
    pub product_key: String,
    /// DeviceName.
    pub device_name: String,
    /// The DeviceSecret the platform issued.
    pub device_secret: Secret,
}

/// A registration client for one endpoint.
pub struct Client {
    agent: ureq::Agent,
    endpoint: Endpoint,
    options: ClientOptions,
}

#[derive(Deserialize)]
struct Reply {
    code: serde_json::Value,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    data: Option<ReplyData>,
}

#[derive(Deserialize)]
struct ReplyData {
    #[serde(rename = "productKey", default)]
    product_key: Option<String>,
    #[serde(rename = "deviceName", default)]
    device_name: Option<String>,
    #[serde(rename = "deviceSecret", default)]
    device_secret: Option<String>,
}

/// Parses the platform's JSON answer and turns a code other than 200 into
/// [`RegisterError::Refused`].
fn accepted(url: &str, answer: &[u8]) -> Result<Reply, RegisterError> {
    let reply: Reply = serde_json::from_slice(answer).map_err(|e| RegisterError::BadResponse {
        url: url.to_owned(),
        detail: format!("not the platform's JSON ({})", crate::parse_error::json(&e)),
    })?;
    let code = match &reply.code {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| RegisterError::BadResponse {
        url: url.to_owned(),
        detail: "its `code` is not a number".into(),
    })?;
    if code != 200 {
        return Err(RegisterError::Refused {
            code,
            message: clean_message(reply.message.as_deref().unwrap_or("")),
        });
    }
    Ok(reply)
}

fn root_certs(ca_pem: Option<&[u8]>) -> Result<RootCerts, RegisterError> {
    let Some(pem) = ca_pem else {
        return Ok(RootCerts::WebPki);
    };
    let mut certs: Vec<Certificate<'static>> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()).to_owned())
        .collect();
    let before = certs.len();
    for item in ureq::tls::parse_pem(pem) {
        match item {
            Ok(PemItem::Certificate(c)) => certs.push(c),
            Ok(_) => {}
            Err(e) => {
                return Err(RegisterError::Input(format!(
                    "the CA file is not valid PEM: {e}"
                )))
            }
        }
    }
    if certs.len() == before {
        return Err(RegisterError::Input(
            "the CA file holds no certificate".into(),
        ));
    }
    Ok(RootCerts::Specific(std::sync::Arc::new(certs)))
}

/// Said when a failure came before any byte of the request was sent.
const NOT_SENT: &str = "; the request was not sent, so a retry is safe";

/// Said when a failure came after the request may have reached the server.
const MAYBE_SEEN: &str =
    "; the request may have reached the platform: if the next try gets code 6289, \
                          the device must be deleted or reset in the console";

/// Whether a failure before the request was sent may pass on another try:
/// not a TLS failure (a certificate or protocol error stays what it is), but
/// a TLS handshake cut short is a connection failure.
fn transient(e: &ureq::Error) -> bool {
    let tls = |io: &std::io::Error| {
        io.get_ref()
            .and_then(|i| i.downcast_ref::<rustls::Error>())
            .is_some()
    };
    match e {
        ureq::Error::Rustls(_) | ureq::Error::Tls(_) => false,
        ureq::Error::Io(io) => !tls(io),
        _ => true,
    }
}

fn describe_tls(r: &rustls::Error) -> String {
    match r {
        rustls::Error::InvalidCertificate(why) => format!(
            "TLS certificate verification failed ({why:?}); for a private endpoint, give its CA with --ca-file"
        ),
        other => format!("TLS failed: {other}"),
    }
}

fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(t) => format!("timed out ({t:?})"),
        ureq::Error::Rustls(r) => describe_tls(r),
        ureq::Error::Io(io)
            if io
                .get_ref()
                .and_then(|i| i.downcast_ref::<rustls::Error>())
                .is_some() =>
        {
            io.get_ref()
                .and_then(|i| i.downcast_ref::<rustls::Error>())
                .map(describe_tls)
                .unwrap_or_default()
        }
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused".into()
        }
        ureq::Error::Io(io) => format!("I/O error: {io}"),
        ureq::Error::ConnectionFailed => "connection failed".into(),
        ureq::Error::HostNotFound => "host not found".into(),
        other => other.to_string(),
    }
}

impl Client {
    /// A client for `endpoint`.
    pub fn new(endpoint: Endpoint, options: ClientOptions) -> Result<Self, RegisterError> {
        let mut config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("burnline/", env!("CARGO_PKG_VERSION")))
            .timeout_resolve(Some(options.connect_timeout))
            .timeout_connect(Some(options.connect_timeout))
            .timeout_send_request(Some(options.read_timeout))
            .timeout_send_body(Some(options.read_timeout))
            .timeout_recv_response(Some(options.read_timeout))
            .timeout_recv_body(Some(options.read_timeout));
        if endpoint.is_https() {
            let tls = TlsConfig::builder()
                .root_certs(root_certs(options.ca_pem.as_deref())?)
                .build();
            config = config.tls_config(tls).https_only(true);
        }
        if endpoint.is_loopback() {
            config = config.proxy(None);
        }
        // The last link after TCP and TLS notes whether request bytes left.
        let agent = ureq::Agent::with_parts(
            config.build(),
            DefaultConnector::new().chain(super::sent::Marker),
            DefaultResolver::default(),
        );
        Ok(Client {
            agent,
            endpoint,
            options,
        })
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Registers `device_name` of `product_key` and returns the DeviceSecret.
    pub fn register(
        &self,
        product_key: &str,
        device_name: &str,
        product_secret: &Secret,
        method: SignMethod,
    ) -> Result<Registered, RegisterError> {
        let nonce = alphanumeric(15)
            .map_err(|e| RegisterError::Input(format!("no random numbers: {e}")))?;
        let params = [
            ("productKey", product_key),
            ("deviceName", device_name),
            ("random", nonce.as_str()),
        ];
        let signature = sign(method, product_secret.expose().as_bytes(), &params);
        let body = form::encode_pairs(&[
            ("productKey", product_key),
            ("deviceName", device_name),
            ("random", &nonce),
            ("sign", &signature),
            ("signMethod", method.as_str()),
        ]);
        let url = self.endpoint.register_url();
        let answer = self.post(&url, FORM, body.as_bytes())?;
        let reply = accepted(&url, &answer)?;
        let bad = |detail: &str| RegisterError::BadResponse {
            url: url.clone(),
            detail: detail.into(),
        };
        let data = reply.data.ok_or_else(|| bad("code 200 without `data`"))?;
        let secret = Secret::new(
            data.device_secret
                .ok_or_else(|| bad("code 200 without `data.deviceSecret`"))?,
        );
        if let Err(rule) = crate::identity::rules::check_device_secret(secret.expose()) {
            return Err(bad(&format!(
                "the DeviceSecret it sent is not valid: {rule}"
            )));
        }
        if data
            .product_key
            .as_deref()
            .is_some_and(|pk| pk != product_key)
            || data
                .device_name
                .as_deref()
                .is_some_and(|dn| dn != device_name)
        {
            return Err(bad("it answered for another device"));
        }
        Ok(Registered {
            product_key: product_key.to_owned(),
            device_name: device_name.to_owned(),
            device_secret: secret,
        })
    }

    /// Checks that a triple authenticates with the platform's HTTP device
    /// authentication (`POST /auth` on `iot-as-http.<region>.aliyuncs.com`,
    /// a JSON body signed with the DeviceSecret over clientId, deviceName,
    /// productKey and timestamp). Only directly connected devices may use
    /// it; a gateway's online check is the MQTT login.
    pub fn authenticate(
        &self,
        product_key: &str,
        device_name: &str,
        device_secret: &Secret,
        method: SignMethod,
    ) -> Result<(), RegisterError> {
        let client_id = format!("{product_key}.{device_name}");
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis().to_string())
            .unwrap_or_default();
        let signature = super::mqtt::password(
            method,
            device_secret,
            &client_id,
            product_key,
            device_name,
            &timestamp,
        );
        let body = serde_json::json!({
            "version": "default",
            "productKey": product_key,
            "deviceName": device_name,
            "clientId": client_id,
            "timestamp": timestamp,
            "signmethod": method.as_str(),
            "sign": signature.expose(),
        });
        let url = self.endpoint.auth_url();
        let answer = self.post(&url, "application/json", body.to_string().as_bytes())?;
        // The HTTP channel answers `{"code":0,"info":{"token"}}` on success.
        let reply: Reply =
            serde_json::from_slice(&answer).map_err(|e| RegisterError::BadResponse {
                url: url.clone(),
                detail: format!("not the platform's JSON ({})", crate::parse_error::json(&e)),
            })?;
        match reply.code.as_i64() {
            Some(0) => Ok(()),
            Some(code) => Err(RegisterError::Refused {
                code,
                message: clean_message(reply.message.as_deref().unwrap_or("")),
            }),
            None => Err(RegisterError::BadResponse {
                url,
                detail: "its `code` is not a number".into(),
            }),
        }
    }

    /// Posts a body and returns the answer's body, retrying only failures
    /// that happened before the request was sent.
    fn post(
        &self,
        url: &str,
        content_type: &str,
        body: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, RegisterError> {
        let attempts = self.options.attempts.max(1);
        let mut attempt = 1;
        loop {
            super::sent::reset();
            let result = self
                .agent
                .post(url)
                .header("Content-Type", content_type)
                .header("Accept", "application/json")
                .send(body);
            let sent = super::sent::was_sent();
            match result {
                Ok(mut resp) => {
                    let status = resp.status().as_u16();
                    let bytes = resp
                        .body_mut()
                        .with_config()
                        .limit(MAX_ANSWER)
                        .read_to_vec()
                        .map_err(|e| RegisterError::Transport {
                            url: url.to_owned(),
                            detail: format!("{}{MAYBE_SEEN}", describe(&e)),
                        })?;
                    let bytes = Zeroizing::new(bytes);
                    if status != 200 && serde_json::from_slice::<serde_json::Value>(&bytes).is_err()
                    {
                        return Err(RegisterError::BadResponse {
                            url: url.to_owned(),
                            detail: format!("HTTP status {status} without the platform's JSON"),
                        });
                    }
                    return Ok(bytes);
                }
                Err(e) if !sent && transient(&e) && attempt < attempts => {
                    std::thread::sleep(self.options.retry_pause.saturating_mul(attempt));
                    attempt += 1;
                }
                Err(e) => {
                    let mut detail = describe(&e);
                    if attempt > 1 {
                        detail.push_str(&format!(" (after {attempt} tries)"));
                    }
                    detail.push_str(if sent { MAYBE_SEEN } else { NOT_SENT });
                    return Err(RegisterError::Transport {
                        url: url.to_owned(),
                        detail,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An answer that is JSON but not the platform's (its secret where an
    /// object belongs) is refused without quoting it (issue 22, item 17).
    #[test]
    fn an_answer_of_the_wrong_shape_is_not_quoted() {
        let secret = "ga7XA6KdlEeiPXQPpRbAjOZXwG8ydgSe";
        let answer = format!(r#"{{"code":200,"data":"{secret}"}}"#);
        let e = accepted(
            "https://iot.example/auth/register/device",
            answer.as_bytes(),
        )
        .err()
        .expect("a string is not the reply's data");
        let text = e.to_string();
        assert!(!text.contains(secret), "{text}");
        assert!(text.contains("invalid type: string, expected"), "{text}");
    }
}
