//! The platform's HTTP device authentication, `POST /auth` on
//! `iot-as-http.<region>.aliyuncs.com` (document 58034): a JSON body
//! `{version, clientId, signmethod, sign, productKey, deviceName, timestamp?}`
//! signed with the DeviceSecret over every field but `version`, `sign` and
//! `signmethod`, sorted by name; `signmethod` defaults to `hmacmd5`. The C
//! SDKs send no timestamp, which is then not signed.
//!
//! Answers (HTTP 200): `{"code":0,"message":"success","info":{"token":…}}`;
//! 10001 for a body that is not such JSON or an unknown sign method, 20000
//! when the device is unknown, has no secret, or the signature is wrong
//! (iotkit-embedded's `iotx_http_api.c` codes). It checks the secret only:
//! being online is an MQTT matter, and it changes no state.

use super::answer::{platform, Answer};
use super::state::State;
use burnline_core::registration::random::alphanumeric;
use burnline_core::registration::sign::{verify, SignMethod};
use burnline_io::say;
use serde_json::{json, Value};
use zeroize::Zeroizing;

/// Fields that are sent but not signed.
const UNSIGNED: [&str; 3] = ["version", "sign", "signmethod"];

/// Answers one `/auth` body.
pub fn answer(state: &State, body: &[u8]) -> Answer {
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) else {
        return platform(10001, "param error: the body is not a JSON object");
    };
    let text = |name: &str| match fields.get(name) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let (Some(pk), Some(dn), Some(_), Some(sign)) = (
        text("productKey"),
        text("deviceName"),
        text("clientId"),
        text("sign"),
    ) else {
        return platform(
            10001,
            "param error: productKey, deviceName, clientId and sign are required",
        );
    };
    let Ok(method) = text("signmethod")
        .as_deref()
        .unwrap_or("hmacmd5")
        .parse::<SignMethod>()
    else {
        return platform(10001, "param error: signmethod");
    };
    let mut signed: Vec<(String, String)> = Vec::new();
    for (k, _) in &fields {
        if UNSIGNED.contains(&k.as_str()) {
            continue;
        }
        let Some(v) = text(k) else {
            return platform(10001, "param error: fields must be strings or numbers");
        };
        signed.push((k.clone(), v));
    }
    let params: Vec<(&str, &str)> = signed
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let ok = state
        .device_secret(&pk, &dn)
        .is_some_and(|ds| verify(method, ds.expose().as_bytes(), &params, &sign));
    if !ok {
        say!("emulator: http auth {pk} {dn}: 20000");
        return platform(20000, "auth check error");
    }
    let Ok(token) = alphanumeric(32) else {
        return platform(10000, "common error");
    };
    say!("emulator: http auth {pk} {dn}: 0");
    (
        200,
        Zeroizing::new(
            json!({"code": 0, "message": "success", "info": {"token": token}})
                .to_string()
                .into_bytes(),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::products::{Device, Product};
    use burnline_core::registration::sign::sign;
    use burnline_core::secret::Secret;

    #[test]
    fn c_sdk_body_without_timestamp_and_the_errors() {
        let mut state = State::load(
            vec![Product {
                product_key: "a1X2bEnP82z".into(),
                product_secret: Secret::from("7jluWm1zql7bt8qK"),
                dynamic_registration: true,
                register_without_precreate: false,
                devices: vec![Device {
                    device_name: "example1".into(),
                    device_secret: None,
                }],
            }],
            None,
        )
        .expect("state");
        let ds = "ga7XA6KdlEeiPXQPpRbAjOZXwG8ydgSe";
        assert_eq!(
            state
                .register("a1X2bEnP82z", "example1", Secret::from(ds))
                .expect("saved"),
            Ok(())
        );
        let params = [
            ("clientId", "a1X2bEnP82z.example1"),
            ("deviceName", "example1"),
            ("productKey", "a1X2bEnP82z"),
        ];
        let good = sign(SignMethod::HmacMd5, ds.as_bytes(), &params).to_uppercase();
        let body = |s: &str| {
            format!(
                r#"{{"version":"default","clientId":"a1X2bEnP82z.example1","signmethod":"hmacmd5","sign":"{s}","productKey":"a1X2bEnP82z","deviceName":"example1"}}"#
            )
        };
        let v: Value =
            serde_json::from_slice(&answer(&state, body(&good).as_bytes()).1).expect("json");
        assert_eq!(v["code"], 0, "{v}");
        assert_eq!(v["info"]["token"].as_str().map(str::len), Some(32));
        let v: Value = serde_json::from_slice(&answer(&state, body(&"0".repeat(32)).as_bytes()).1)
            .expect("json");
        assert_eq!(v["code"], 20000);
        let v: Value = serde_json::from_slice(&answer(&state, b"[1]").1).expect("json");
        assert_eq!(v["code"], 10001);
        // A timestamp is signed when sent; the default method is hmacmd5.
        let with_ts = [
            ("clientId", "c"),
            ("deviceName", "example1"),
            ("productKey", "a1X2bEnP82z"),
            ("timestamp", "1700000000000"),
        ];
        let s = sign(SignMethod::HmacMd5, ds.as_bytes(), &with_ts);
        let b = format!(
            r#"{{"version":"default","clientId":"c","sign":"{s}","productKey":"a1X2bEnP82z","deviceName":"example1","timestamp":1700000000000}}"#
        );
        let v: Value = serde_json::from_slice(&answer(&state, b.as_bytes()).1).expect("json");
        assert_eq!(v["code"], 0, "{v}");
    }
}
