//! The online check the seed's last step asks for: a device triple logs in
//! over MQTT, as the edge runtime will, and the CONNACK says whether the
//! platform takes it. While the connection is up the console shows the
//! device *online*, and the first accepted login activates it. The check
//! disconnects at once after the CONNACK.
//!
//! Also MQTT dynamic registration (`authType=register`, Link SDK 4.x
//! `dynregmq`): a CONNECT signed with the ProductSecret, answered after the
//! CONNACK with a PUBLISH on `/ext/register` carrying `{"deviceSecret"}`.
//! Its connection is retried as the HTTPS registration's is (the network
//! is often not up yet at a first boot), but never once the CONNECT was
//! sent: the platform issues a DeviceSecret once.

use super::mqtt::{MqttCredentials, SecureMode};
use super::mqtt_transport::{Connection, MqttError, MqttTarget};
use super::random::alphanumeric;
use super::sign::{sign, SignMethod};
use crate::secret::Secret;
use mqttbytes_ng::v4::{Connect, ConnectReturnCode, Packet};
use std::sync::Arc;
use std::time::Duration;

/// Keepalive sent in the CONNECT (the platform takes 30–1200 s).
pub const KEEPALIVE: u16 = 60;

/// How long to wait for the connection and for each answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The `securemode` a login to `target` must say.
pub fn secure_mode(target: &MqttTarget, instance_id: Option<&str>) -> SecureMode {
    match (target.tls, instance_id) {
        (false, _) => SecureMode::Plain,
        (true, Some(i)) => SecureMode::Instance(i.to_owned()),
        (true, None) => SecureMode::Tls,
    }
}

fn connect_packet(client_id: &str, username: &str, password: &Secret) -> Packet {
    let mut c = Connect::new(client_id);
    c.keep_alive = KEEPALIVE;
    c.clean_session = true;
    c.set_login(username, password.expose());
    Packet::Connect(c)
}

fn connack(conn: &mut Connection) -> Result<(), MqttError> {
    match conn.receive()? {
        Packet::ConnAck(a) if a.code == ConnectReturnCode::Success => Ok(()),
        Packet::ConnAck(a) => Err(MqttError::Refused(a.code as u8)),
        other => Err(MqttError::Network(format!(
            "the server answered the CONNECT with {other:?}"
        ))),
    }
}

/// Logs the triple of `creds` in at `target` and disconnects; `Ok` when the
/// platform accepted it (CONNACK 0).
pub fn check_login(
    target: &MqttTarget,
    tls: Option<Arc<rustls::ClientConfig>>,
    creds: &MqttCredentials,
) -> Result<(), MqttError> {
    let mut conn = Connection::open(target, tls, TIMEOUT)?;
    conn.send(&connect_packet(
        &creds.client_id,
        &creds.username,
        &creds.password,
    ))?;
    connack(&mut conn)?;
    conn.close();
    Ok(())
}

/// Registers a pre-created device over MQTT and returns its DeviceSecret.
pub fn register(
    target: &MqttTarget,
    tls: Option<Arc<rustls::ClientConfig>>,
    product_key: &str,
    device_name: &str,
    product_secret: &Secret,
) -> Result<Secret, MqttError> {
    let random =
        alphanumeric(15).map_err(|e| MqttError::Input(format!("no random numbers: {e}")))?;
    let method = SignMethod::HmacSha256;
    let mode = if target.tls { 2 } else { 3 };
    let client_id = format!(
        "{device_name}.{product_key}|random={random},authType=register,securemode={mode},signmethod={method}|"
    );
    let password = Secret::new(sign(
        method,
        product_secret.expose().as_bytes(),
        &[
            ("deviceName", device_name),
            ("productKey", product_key),
            ("random", &random),
        ],
    ));
    let retry = super::client::ClientOptions::default();
    let mut conn =
        Connection::open_retrying(target, tls, TIMEOUT, retry.attempts, retry.retry_pause)?;
    conn.send(&connect_packet(
        &client_id,
        &format!("{device_name}&{product_key}"),
        &password,
    ))?;
    connack(&mut conn)?;
    let answer = loop {
        match conn.receive()? {
            Packet::Publish(p) if p.topic == "/ext/register" => break p,
            Packet::Publish(_) | Packet::PingResp => {}
            other => {
                return Err(MqttError::Network(format!(
                    "expected the PUBLISH on /ext/register, got {other:?}"
                )))
            }
        }
    };
    conn.close();
    let payload = zeroize::Zeroizing::new(answer.payload.to_vec());
    let secret = serde_json::from_slice::<serde_json::Value>(&payload)
        .ok()
        .and_then(|v| {
            v["deviceSecret"]
                .as_str()
                .map(|s| Secret::new(s.to_owned()))
        })
        .ok_or_else(|| MqttError::Network("the /ext/register answer has no deviceSecret".into()))?;
    crate::identity::rules::check_device_secret(secret.expose()).map_err(|rule| {
        MqttError::Network(format!("the DeviceSecret it sent is not valid: {rule}"))
    })?;
    Ok(secret)
}
