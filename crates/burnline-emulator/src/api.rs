//! The emulator's HTTP answers. Platform requests get HTTP 200 and a JSON
//! `code`, as the platform does; admin requests use HTTP status codes.
//!
//! | request | answer |
//! |---|---|
//! | `POST /auth/register/device` (form) | `{"code":200,"data":{"productKey","deviceName","deviceSecret"},"message":"success"}` with a new DeviceSecret (replacing an older one while the device is not activated), or code 460 bad parameters, 6250 product not found, 6292 sign method not supported, 6600 signature check failed, 6288 dynamic registration off, 6100 device not found (emulator's choice), 6289 already activated |
//! | `POST /auth` (JSON) | see [`super::http_auth`] |
//! | `GET /admin/devices` | `[{"product_key","device_name","activated","online","last_online","secrets_issued","disabled","status"}]`, `status` the platform's `ONLINE`, `OFFLINE`, `UNACTIVE` or `DISABLE` |
//! | `POST /admin/publish` `{"topic","payload","qos"?}` | the console's "publish message": the payload (text) goes to every device subscribed to the topic; `{"code":200,"message":"success","delivered":N}` |
//! | `DELETE /admin/devices/{pk}/{dn}` | the console's delete: the device forgets everything and may register again; its connection is closed |
//! | `POST /admin/devices/{pk}/{dn}/reset` | the console's reset (ResetThing): no longer activated, may register again; its connection is closed |
//! | `PUT /admin/products/{pk}/dynamic-registration` `{"enabled":bool}` | switches dynamic registration |

use super::sessions::Sessions;
use super::state::State;
use crate::answer::{platform, refusal_answer, Answer};
use burnline_core::registration::form;
use burnline_core::registration::random::alphanumeric;
use burnline_core::registration::sign::{verify, SignMethod};
use burnline_core::secret::Secret;
use burnline_io::say;
use serde::Deserialize;
use serde_json::json;
use std::sync::Mutex;
use zeroize::Zeroizing;

/// A request, as the HTTP server hands it over.
#[derive(Debug)]
pub struct Request {
    /// `GET`, `POST`...
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The body.
    pub body: Zeroizing<Vec<u8>>,
}

/// The emulated platform: its state and who is connected.
#[derive(Debug)]
pub struct Api {
    state: Mutex<State>,
    /// The live MQTT sessions.
    pub sessions: Sessions,
}

fn admin(status: u16, message: &str) -> Answer {
    (
        status,
        Zeroizing::new(
            json!({"code": status, "message": message})
                .to_string()
                .into_bytes(),
        ),
    )
}

#[derive(Deserialize)]
struct SwitchBody {
    enabled: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PublishBody {
    topic: String,
    payload: String,
    #[serde(default)]
    qos: u8,
}

impl Api {
    /// An API over `state`.
    pub fn new(state: State) -> Self {
        Api {
            state: Mutex::new(state),
            sessions: Sessions::default(),
        }
    }

    /// The state, locked.
    pub fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (every change
        // is one assignment), so a poisoned lock is taken over.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn device_admin(&self, pk: &str, dn: &str, reset: bool) -> Answer {
        let (Some(pk), Some(dn)) = (form::decode(pk), form::decode(dn)) else {
            return admin(400, "bad path");
        };
        let done = if reset {
            self.state().reset_device(&pk, &dn)
        } else {
            self.state().delete_device(&pk, &dn)
        };
        match done {
            Ok(true) => {
                self.sessions.kick(&pk, &dn);
                let what = if reset { "reset" } else { "deleted" };
                say!("emulator: {what} {pk} {dn}");
                admin(200, "success")
            }
            Ok(false) => admin(404, "no such device"),
            Err(e) => admin(500, &e.to_string()),
        }
    }

    /// `PUT /admin/devices/{pk}/{dn}/enabled` with `{"enabled": bool}`: the
    /// console's EnableThing / DisableThing. A disabled device's connection
    /// is closed and its logins get CONNACK 5.
    fn enable(&self, pk: &str, dn: &str, body: &[u8]) -> Answer {
        let (Some(pk), Some(dn)) = (form::decode(pk), form::decode(dn)) else {
            return admin(400, "bad path");
        };
        let Ok(body) = serde_json::from_slice::<SwitchBody>(body) else {
            return admin(400, "expected {\"enabled\": true|false}");
        };
        match self.state().set_enabled(&pk, &dn, body.enabled) {
            Ok(true) => {
                if !body.enabled {
                    self.sessions.kick(&pk, &dn);
                }
                let what = if body.enabled { "enabled" } else { "disabled" };
                say!("emulator: {what} {pk} {dn}");
                admin(200, "success")
            }
            Ok(false) => admin(404, "no such device"),
            Err(e) => admin(500, &e.to_string()),
        }
    }

    /// `POST /admin/publish`: the console's "publish message" to a topic.
    fn publish(&self, body: &[u8]) -> Answer {
        let Ok(body) = serde_json::from_slice::<PublishBody>(body) else {
            return admin(
                400,
                "expected {\"topic\": \"/…\", \"payload\": \"…\", \"qos\": 0|1}",
            );
        };
        let qos = match body.qos {
            0 => mqttbytes_ng::QoS::AtMostOnce,
            1 => mqttbytes_ng::QoS::AtLeastOnce,
            _ => return admin(400, "qos must be 0 or 1"),
        };
        if !body.topic.starts_with('/') || body.topic.contains(['+', '#']) {
            return admin(400, "the topic must be a topic name starting with /");
        }
        let delivered = self
            .sessions
            .route(&body.topic, body.payload.as_bytes(), qos);
        say!(
            "emulator: published on {} to {delivered} subscriber(s)",
            body.topic
        );
        (
            200,
            Zeroizing::new(
                json!({"code": 200, "message": "success", "delivered": delivered})
                    .to_string()
                    .into_bytes(),
            ),
        )
    }

    /// Answers one request.
    pub fn handle(&self, req: &Request) -> Answer {
        let segments: Vec<&str> = req.path.trim_start_matches('/').split('/').collect();
        match (req.method.as_str(), segments.as_slice()) {
            ("POST", ["auth", "register", "device"]) => self.register(&req.body),
            ("POST", ["auth"]) => super::http_auth::answer(&self.state(), &req.body),
            ("GET", ["admin", "devices"]) => (
                200,
                Zeroizing::new(json!(self.state().list()).to_string().into_bytes()),
            ),
            ("POST", ["admin", "publish"]) => self.publish(&req.body),
            ("DELETE", ["admin", "devices", pk, dn]) => self.device_admin(pk, dn, false),
            ("POST", ["admin", "devices", pk, dn, "reset"]) => self.device_admin(pk, dn, true),
            ("PUT", ["admin", "devices", pk, dn, "enabled"]) => self.enable(pk, dn, &req.body),
            ("PUT", ["admin", "products", pk, "dynamic-registration"]) => {
                let Ok(body) = serde_json::from_slice::<SwitchBody>(&req.body) else {
                    return admin(400, "expected {\"enabled\": true|false}");
                };
                match self.state().set_switch(pk, body.enabled) {
                    Ok(true) => admin(200, "success"),
                    Ok(false) => admin(404, "no such product"),
                    Err(e) => admin(500, &e.to_string()),
                }
            }
            (
                _,
                ["auth", "register", "device"]
                | ["auth"]
                | ["admin", "devices", ..]
                | ["admin", "products", ..]
                | ["admin", "publish"],
            ) => admin(405, "method not allowed"),
            _ => admin(404, "not found"),
        }
    }

    fn register(&self, body: &[u8]) -> Answer {
        let Some(pairs) = std::str::from_utf8(body).ok().and_then(form::decode_pairs) else {
            return platform(460, "request parameter error: the body is not a form");
        };
        let pairs = Zeroizing::new(pairs);
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let (Some(pk), Some(dn), Some(sign), Some(method)) = (
            get("productKey"),
            get("deviceName"),
            get("sign"),
            get("signMethod"),
        ) else {
            return platform(
                460,
                "request parameter error: productKey, deviceName, sign and signMethod are required",
            );
        };
        if get("random").is_none() || pk.is_empty() || dn.is_empty() {
            return platform(460, "request parameter error: random is required");
        }
        let Ok(method) = method.parse::<SignMethod>() else {
            return platform(6292, "sign method not supported");
        };
        let mut state = self.state();
        let Some(product) = state.product(pk) else {
            say!("emulator: register {pk} {dn}: 6250");
            return platform(6250, "product not found");
        };
        let signed: Vec<(&str, &str)> = pairs
            .iter()
            .filter(|(k, _)| k != "sign" && k != "signMethod")
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if !verify(
            method,
            product.product_secret.expose().as_bytes(),
            &signed,
            sign,
        ) {
            say!("emulator: register {pk} {dn}: 6600");
            return platform(6600, "sign check failed");
        }
        let secret = match alphanumeric(32) {
            Ok(s) => Secret::new(s),
            Err(_) => return platform(500, "server error"),
        };
        let answer = match state.register(pk, dn, secret) {
            Err(e) => platform(500, &format!("server error: {e}")),
            Ok(Err(r)) => {
                let (code, message) = refusal_answer(r);
                platform(code, message)
            }
            Ok(Ok(())) => match state.device_secret(pk, dn) {
                None => platform(500, "server error"),
                Some(ds) => {
                    let doc = json!({
                        "code": 200,
                        "data": {"productKey": pk, "deviceName": dn, "deviceSecret": ds.expose()},
                        "message": "success",
                    });
                    (200, Zeroizing::new(doc.to_string().into_bytes()))
                }
            },
        };
        let code = serde_json::from_slice::<serde_json::Value>(&answer.1)
            .ok()
            .and_then(|v| v["code"].as_i64());
        say!("emulator: register {pk} {dn}: {}", code.unwrap_or(0));
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::products::{Device, Product};
    use burnline_core::registration::sign::sign;

    const PK: &str = "a1X2bEnP82z";
    const PS: &str = "7jluWm1zql7bt8qK";

    fn api() -> Api {
        let products = vec![Product {
            product_key: PK.into(),
            product_secret: Secret::from(PS),
            dynamic_registration: true,
            register_without_precreate: false,
            devices: ["example1", "gw@1:a"]
                .map(|n| Device {
                    device_name: n.into(),
                    device_secret: None,
                })
                .into(),
        }];
        Api::new(State::load(products, None).expect("state"))
    }

    fn post(api: &Api, body: &str) -> serde_json::Value {
        let req = Request {
            method: "POST".into(),
            path: "/auth/register/device".into(),
            body: Zeroizing::new(body.as_bytes().to_vec()),
        };
        let (status, body) = api.handle(&req);
        assert_eq!(status, 200);
        serde_json::from_slice(&body).expect("json")
    }

    #[test]
    fn python_sdk_body_of_the_domain_notes() {
        let api = api();
        let v = post(
            &api,
            "productKey=a1X2bEnP82z&deviceName=example1&random=8Ygb7ULYh53B6OA&sign=37c9d9c4dcab7fc75d65d25547a4e11080e59dd82f3255aafc90d83498480e88&signMethod=hmacsha256",
        );
        assert_eq!(v["code"], 200, "{v}");
        assert_eq!(v["message"], "success");
        assert_eq!(v["data"]["productKey"], PK);
        assert_eq!(v["data"]["deviceName"], "example1");
        let ds = v["data"]["deviceSecret"].as_str().expect("secret");
        assert_eq!(ds.len(), 32);
        assert!(ds.chars().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn c_sdk_style_raw_name_and_upper_case_hex() {
        let api = api();
        let params = [
            ("productKey", PK),
            ("deviceName", "gw@1:a"),
            ("random", "8Ygb7ULYh53B6OA"),
        ];
        let s = sign(SignMethod::HmacSha1, PS.as_bytes(), &params).to_uppercase();
        let v = post(
            &api,
            &format!("productKey={PK}&deviceName=gw@1:a&random=8Ygb7ULYh53B6OA&sign={s}&signMethod=hmacsha1"),
        );
        assert_eq!(v["code"], 200, "{v}");
        assert_eq!(v["data"]["deviceName"], "gw@1:a");
    }

    #[test]
    fn error_codes() {
        let api = api();
        let good = sign(
            SignMethod::HmacSha256,
            PS.as_bytes(),
            &[
                ("productKey", PK),
                ("deviceName", "example1"),
                ("random", "r"),
            ],
        );
        let body = |pk: &str, dn: &str, sign: &str, m: &str| {
            format!("productKey={pk}&deviceName={dn}&random=r&sign={sign}&signMethod={m}")
        };
        assert_eq!(post(&api, "productKey=x")["code"], 460);
        assert_eq!(post(&api, "%zz")["code"], 460);
        assert_eq!(
            post(
                &api,
                &format!("productKey={PK}&deviceName=example1&sign={good}&signMethod=hmacsha256")
            )["code"],
            460
        );
        assert_eq!(
            post(&api, &body(PK, "example1", &good, "hmacsha512"))["code"],
            6292
        );
        assert_eq!(
            post(&api, &body("zzzzzzzzzzz", "example1", &good, "hmacsha256"))["code"],
            6250
        );
        assert_eq!(
            post(&api, &body(PK, "example1", &"0".repeat(64), "hmacsha256"))["code"],
            6600
        );
        let other = sign(
            SignMethod::HmacSha256,
            PS.as_bytes(),
            &[
                ("productKey", PK),
                ("deviceName", "nobody"),
                ("random", "r"),
            ],
        );
        assert_eq!(
            post(&api, &body(PK, "nobody", &other, "hmacsha256"))["code"],
            6100
        );
        assert_eq!(
            post(&api, &body(PK, "example1", &good, "hmacsha256"))["code"],
            200
        );
        let first = api.state().device_secret(PK, "example1").cloned();
        // Not activated yet: a new secret replaces the first.
        let again = post(&api, &body(PK, "example1", &good, "hmacsha256"));
        assert_eq!(again["code"], 200, "{again}");
        let second = api.state().device_secret(PK, "example1").cloned();
        assert_ne!(first, second);
        assert_eq!(api.state().list()[0].secrets_issued, 2);
        // Activated at the first accepted connect: 6289 from then on.
        assert!(api.state().connected(PK, "example1").expect("connected"));
        let again = post(&api, &body(PK, "example1", &good, "hmacsha256"));
        assert_eq!(again["code"], 6289);
        assert!(again.get("data").is_none());
        let reset = Request {
            method: "POST".into(),
            path: format!("/admin/devices/{PK}/example1/reset"),
            body: Zeroizing::new(Vec::new()),
        };
        assert_eq!(api.handle(&reset).0, 200);
        assert_eq!(
            post(&api, &body(PK, "example1", &good, "hmacsha256"))["code"],
            200
        );
        let off = Request {
            method: "PUT".into(),
            path: format!("/admin/products/{PK}/dynamic-registration"),
            body: Zeroizing::new(br#"{"enabled":false}"#.to_vec()),
        };
        assert_eq!(api.handle(&off).0, 200);
        let g2 = sign(
            SignMethod::HmacSha256,
            PS.as_bytes(),
            &[
                ("productKey", PK),
                ("deviceName", "gw@1:a"),
                ("random", "r"),
            ],
        );
        assert_eq!(
            post(&api, &body(PK, "gw%401%3Aa", &g2, "hmacsha256"))["code"],
            6288
        );
        let list = Request {
            method: "GET".into(),
            path: "/admin/devices".into(),
            body: Zeroizing::new(Vec::new()),
        };
        let (status, listed) = api.handle(&list);
        assert_eq!(status, 200);
        let listed = String::from_utf8(listed.to_vec()).expect("utf8");
        let issued = api.state().device_secret(PK, "example1").cloned();
        let issued = issued.expect("issued");
        assert!(
            !listed.contains(issued.expose()) && !listed.contains("device_secret"),
            "{listed}"
        );
        let wrong = Request {
            method: "GET".into(),
            path: "/auth/register/device".into(),
            body: Zeroizing::new(Vec::new()),
        };
        assert_eq!(api.handle(&wrong).0, 405);
    }
}
