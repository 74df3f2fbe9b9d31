//! The MQTT connect parameters of a device triple: host, port, client ID,
//! user name and the signed password. `burnline mqtt-credentials` prints
//! them, and the emulator's `/auth` checks the same signature.

use super::sign::{sign, SignMethod};
use crate::secret::Secret;

/// The port of a plain-TCP MQTT connection (`securemode=3`).
pub const PORT: u16 = 1883;

/// MQTT connect parameters.
#[derive(Debug)]
pub struct MqttCredentials {
    /// `<PK>.iot-as-mqtt.<region>.aliyuncs.com`.
    pub host: String,
    /// 1883.
    pub port: u16,
    /// `PK.DN|securemode=3,signmethod=M,timestamp=T|`.
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
    ) -> Self {
        let id = format!("{product_key}.{device_name}");
        MqttCredentials {
            host: format!("{product_key}.iot-as-mqtt.{region}.aliyuncs.com"),
            port: PORT,
            client_id: format!("{id}|securemode=3,signmethod={method},timestamp={timestamp}|"),
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
