//! The MQTT connect parameters of a device triple: host, port, client ID,
//! user name and the signed password, for TLS (securemode 2, the default;
//! -2 on a new instance with its `instanceId`) or plain TCP (securemode 3).
//! `burnline mqtt-credentials` prints them, and the MQTT login check and the
//! HTTP `/auth` sign the same way.

use super::sign::{sign, SignMethod};
use crate::secret::Secret;

/// The port of a plain-TCP MQTT connection (`securemode=3`).
pub const PORT: u16 = 1883;

/// The port of MQTT over TLS (`securemode=2`).
pub const TLS_PORT: u16 = 8883;

/// How the connection is secured, which the ClientID says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecureMode {
    /// `securemode=2`: TLS to the legacy host `<PK>.iot-as-mqtt.<region>.aliyuncs.com`.
    Tls,
    /// `securemode=-2`: TLS to a new instance, `<id>.mqtt.iothub.aliyuncs.com`.
    Instance(String),
    /// `securemode=3`: plain TCP.
    Plain,
}

impl SecureMode {
    /// The ClientID's `securemode` value.
    pub fn number(&self) -> i8 {
        match self {
            SecureMode::Tls => 2,
            SecureMode::Instance(_) => -2,
            SecureMode::Plain => 3,
        }
    }
}

/// MQTT connect parameters.
#[derive(Debug)]
pub struct MqttCredentials {
    /// `<PK>.iot-as-mqtt.<region>.aliyuncs.com`, or the instance's host.
    pub host: String,
    /// 8883 for TLS, 1883 for plain TCP.
    pub port: u16,
    /// `PK.DN|securemode=S,signmethod=M,timestamp=T|` (and `instanceId=`).
    pub client_id: String,
    /// `DN&PK`.
    pub username: String,
    /// The signature (hex), derived from the DeviceSecret.
    pub password: Secret,
}

/// The parameters signed for an MQTT connect or `/auth`: clientId (the part
/// before the first `|`), deviceName, productKey, timestamp.
pub fn password(
    method: SignMethod,
    device_secret: &Secret,
    client_id: &str,
    product_key: &str,
    device_name: &str,
    timestamp: &str,
) -> Secret {
    let params = [
        ("clientId", client_id),
        ("deviceName", device_name),
        ("productKey", product_key),
        ("timestamp", timestamp),
    ];
    Secret::new(sign(method, device_secret.expose().as_bytes(), &params))
}

impl MqttCredentials {
    /// Derives the connect parameters, C SDK style (`clientId` = `PK.DN`).
    pub fn derive(
        product_key: &str,
        device_name: &str,
        device_secret: &Secret,
        method: SignMethod,
        timestamp: &str,
        region: &str,
        mode: &SecureMode,
    ) -> Self {
        let id = format!("{product_key}.{device_name}");
        let (host, port, instance) = match mode {
            SecureMode::Tls => (
                format!("{product_key}.iot-as-mqtt.{region}.aliyuncs.com"),
                TLS_PORT,
                String::new(),
            ),
            SecureMode::Instance(i) => (
                format!("{i}.mqtt.iothub.aliyuncs.com"),
                TLS_PORT,
                format!(",instanceId={i}"),
            ),
            SecureMode::Plain => (
                format!("{product_key}.iot-as-mqtt.{region}.aliyuncs.com"),
                PORT,
                String::new(),
            ),
        };
        MqttCredentials {
            host,
            port,
            client_id: format!(
                "{id}|securemode={},signmethod={method},timestamp={timestamp}{instance}|",
                mode.number()
            ),
            username: format!("{device_name}&{product_key}"),
            password: password(
                method,
                device_secret,
                &id,
                product_key,
                device_name,
                timestamp,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_vector() {
        let ds = Secret::from("ga7XA6KdlEeiPXQPpRbAjOZXwG8ydgSe");
        let m = MqttCredentials::derive(
            "a1X2bEnP82z",
            "example1",
            &ds,
            SignMethod::HmacSha256,
            "2524608000000",
            "cn-shanghai",
            &SecureMode::Plain,
        );
        assert_eq!(m.host, "a1X2bEnP82z.iot-as-mqtt.cn-shanghai.aliyuncs.com");
        assert_eq!(m.port, 1883);
        assert_eq!(
            m.client_id,
            "a1X2bEnP82z.example1|securemode=3,signmethod=hmacsha256,timestamp=2524608000000|"
        );
        assert_eq!(m.username, "example1&a1X2bEnP82z");
        assert_eq!(
            m.password.expose().to_uppercase(),
            "B8CE8F1D706DD3C61D13BFD9855DEF7E321B785084CA9C93F0169A2B46785DD2"
        );
    }
}
