//! The emulator as Alibaba's C SDKs (Link SDK 4.x, iotkit-embedded 3.x)
//! meet it (issue 23), over real sockets on 127.0.0.1: TLS with only their
//! RSA key-exchange suites (tests/clients/csdk_tls_client.py, Python's ssl
//! restricted to those suites and TLS 1.2, with paho; and `openssl
//! s_client`), response header names matched case-sensitively, one port
//! for TLS and plain TCP, MQTT registration refused over plain TCP, the
//! keepalive held to 1200 s, topic rights, Alink replies and routing with
//! the admin publish, the platform's state names in the listing, and the
//! warning for a certificate the C SDKs cannot use. Raw MQTT is spoken with
//! mqttbytes-ng packets.

mod common;

use burnline_core::registration::sign::{sign, SignMethod};
use bytes::BytesMut;
use common::emulator::{admin, register, test_ca_rsa, write_products, PK_OFF};
use common::mqtt::{plain_credentials, python, MqttEmulator};
use common::*;
use mqttbytes_ng::v4::{
    Connect, ConnectReturnCode, LastWill, Packet, Publish, Subscribe, SubscribeReasonCode,
};
use mqttbytes_ng::QoS;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

const CLIENT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/clients/csdk_tls_client.py"
);

/// The port of `http://127.0.0.1:PORT` or `127.0.0.1:PORT`.
fn port(addr: &str) -> String {
    addr.rsplit(':').next().expect("port").to_owned()
}

/// The C-SDK-like client with `args`, in `t`'s directory.
fn csdk(t: &Test, args: &[&str]) -> Test {
    python(t, Path::new(CLIENT)).args(args)
}

/// A raw MQTT 3.1.1 connection.
struct Raw {
    s: TcpStream,
    buf: BytesMut,
}

impl Raw {
    /// Connects to `addr` and sends `c`; the connection and the CONNACK code
    /// (`None` when the server closed it without one).
    fn connect(addr: &str, c: Connect) -> (Raw, Option<ConnectReturnCode>) {
        let s = TcpStream::connect(addr).expect("connect");
        let mut raw = Raw {
            s,
            buf: BytesMut::new(),
        };
        raw.send(Packet::Connect(c));
        let code = match raw.recv(Duration::from_secs(10)) {
            Some(Packet::ConnAck(a)) => Some(a.code),
            None => None,
            Some(other) => panic!("expected CONNACK, got {other:?}"),
        };
        (raw, code)
    }

    fn send(&mut self, p: Packet) {
        let mut out = BytesMut::new();
        p.write(&mut out, 1 << 20).expect("encode");
        self.s.write_all(&out).expect("send");
    }

    /// The next packet within `limit`; `None` on timeout, EOF or reset.
    fn recv(&mut self, limit: Duration) -> Option<Packet> {
        let end = Instant::now() + limit;
        loop {
            match Packet::read(&mut self.buf, 1 << 20) {
                Ok(p) => return Some(p),
                Err(mqttbytes_ng::Error::InsufficientBytes(_)) => {}
                Err(e) => panic!("bad packet from the emulator: {e}"),
            }
            let left = end.checked_duration_since(Instant::now())?;
            self.s
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .expect("timeout");
            let mut b = [0u8; 4096];
            match self.s.read(&mut b) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&b[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::ConnectionReset
                    ) =>
                {
                    return None
                }
                Err(e) => panic!("read: {e}"),
            }
        }
    }

    /// The next PUBLISH within 5 s, skipping nothing: (topic, payload).
    fn publish_in(&mut self) -> (String, String) {
        match self.recv(Duration::from_secs(5)) {
            Some(Packet::Publish(p)) => (
                p.topic,
                String::from_utf8(p.payload.to_vec()).expect("utf8 payload"),
            ),
            other => panic!("expected a PUBLISH, got {other:?}"),
        }
    }

    /// SUBSCRIBEs to `filters` at QoS 1; the SUBACK's codes.
    fn subscribe(&mut self, filters: &[&str]) -> Vec<SubscribeReasonCode> {
        let mut sub = Subscribe::new(filters[0], QoS::AtLeastOnce);
        for f in &filters[1..] {
            sub.add((*f).to_owned(), QoS::AtLeastOnce);
        }
        sub.pkid = 7;
        self.send(Packet::Subscribe(sub));
        match self.recv(Duration::from_secs(5)) {
            Some(Packet::SubAck(a)) => a.return_codes,
            other => panic!("expected SUBACK, got {other:?}"),
        }
    }
}

/// A CONNECT with the platform's credentials.
fn connect(cid: &str, user: &str, pw: &str, keepalive: u16) -> Connect {
    let mut c = Connect::new(cid);
    c.keep_alive = keepalive;
    c.set_login(user, pw);
    c
}

/// A plain-TCP (securemode 3) login CONNECT for `dn` with secret `ds`.
fn login_connect(t: &Test, dn: &str, ds: &str, keepalive: u16) -> Connect {
    let (cid, user, pw) = plain_credentials(t, PK, dn, ds);
    connect(&cid, &user, &pw, keepalive)
}

/// Logs `dn` in over plain TCP; the connection.
fn login(t: &Test, emu: &MqttEmulator, dn: &str, ds: &str) -> Raw {
    let (raw, code) = Raw::connect(&emu.mqtt, login_connect(t, dn, ds, 60));
    assert_eq!(code, Some(ConnectReturnCode::Success), "{}", emu.log_text());
    raw
}

/// An MQTT dynamic registration CONNECT (`authType` register or regnwl).
fn register_connect(dn: &str, auth_type: &str) -> Connect {
    let pw = sign(
        SignMethod::HmacSha256,
        PS.as_bytes(),
        &[("deviceName", dn), ("productKey", PK), ("random", "r1")],
    );
    connect(
        &format!("{dn}.{PK}|random=r1,authType={auth_type},securemode=2,signmethod=hmacsha256|"),
        &format!("{dn}&{PK}"),
        &pw,
        60,
    )
}

#[test]
fn c_sdk_suites_register_over_https_and_log_in_over_mqtt() {
    let t = Test::new();
    let p = write_products(t.path(), &["c-0001"]);
    let (ca, cert, key) = test_ca_rsa(t.path());
    let emu = MqttEmulator::start(t.path(), &p, Some((&cert, &key, &ca)), &[]);
    let https = port(&emu.url);
    let mqtts = port(emu.mqtts.as_deref().expect("mqtts"));

    // HTTPS registration, TLS 1.2 and RSA key exchange only.
    let said = csdk(&t, &["https-register", &https, s(&ca), PK, "c-0001", PS])
        .stdout_contains("cipher=AES")
        .run()
        .text();
    let ds = said
        .lines()
        .find_map(|l| l.strip_prefix("register secret="))
        .and_then(|l| l.split(' ').next())
        .expect("secret")
        .to_owned();
    assert_eq!(ds.len(), 32, "{said}");

    // MQTT login the way Link SDK 4.x signs it, over the same suites.
    csdk(&t, &["mqtt-login", &mqtts, s(&ca), PK, "c-0001", &ds])
        .stdout_contains("cipher=AES")
        .stdout_contains("connect rc=0")
        .run();
    assert!(emu.device("c-0001").activated);

    // Each of the four suites completes a handshake on both listeners.
    for addr in [&https, &mqtts] {
        for suite in ["AES128-SHA256", "AES256-SHA256", "AES128-SHA", "AES256-SHA"] {
            t.tool("openssl")
                .args(["s_client", "-connect", &format!("127.0.0.1:{addr}")])
                .args(["-tls1_2", "-cipher", suite, "-CAfile", s(&ca)])
                .args(["-verify_return_error", "-servername", "localhost"])
                .stdin("")
                .stdout_contains(format!("Cipher is {suite}"))
                .stdout_contains("Verify return code: 0 (ok)")
                .run();
        }
    }
    let log = emu.log_text();
    assert!(!log.contains(&ds), "a secret in the log");
    assert!(!log.contains("not an RSA key"), "{log}");
}

/// Reads one HTTP/1.1 answer from `s` as Link SDK 4.x does: the head up to
/// the blank line, the body length only from a line that starts with
/// `Content-Length: ` (memcmp), which iotkit-embedded 3.x also finds
/// (strstr "Content-Length"). The head and the body.
fn read_answer_case_sensitively(s: &mut TcpStream) -> (String, String) {
    let mut data = Vec::new();
    let mut b = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = s.read(&mut b).expect("read");
        assert!(
            n > 0,
            "EOF in the head: {:?}",
            String::from_utf8_lossy(&data)
        );
        data.extend_from_slice(&b[..n]);
    };
    let head = String::from_utf8(data[..head_end].to_vec()).expect("head");
    let len: usize = head
        .split("\r\n")
        .skip(1)
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .unwrap_or_else(|| {
            panic!("no `Content-Length: ` line (4.x: STATE_HTTP_READ_BODY_EMPTY):\n{head}")
        })
        .parse()
        .expect("length");
    assert!(
        head.contains("Content-Length"),
        "3.x: Could not parse header"
    );
    let mut body = data[head_end + 4..].to_vec();
    while body.len() < len {
        let n = s.read(&mut b).expect("read");
        assert!(n > 0, "EOF in the body");
        body.extend_from_slice(&b[..n]);
    }
    (head, String::from_utf8(body[..len].to_vec()).expect("body"))
}

#[test]
fn answers_name_their_headers_in_the_platforms_case() {
    let t = Test::new();
    let p = write_products(t.path(), &["h-0001"]);
    let emu = MqttEmulator::start(t.path(), &p, None, &[]);
    let addr = emu.url.trim_start_matches("http://").to_owned();
    let good = sign(
        SignMethod::HmacSha256,
        PS.as_bytes(),
        &[
            ("deviceName", "h-0001"),
            ("productKey", PK),
            ("random", "r"),
        ],
    )
    .to_uppercase();
    let form = |sign: &str| {
        format!("productKey={PK}&deviceName=h-0001&random=r&sign={sign}&signMethod=hmacsha256")
    };
    let auth = format!(
        r#"{{"version":"default","clientId":"c","signmethod":"hmacmd5","sign":"{}","productKey":"{PK}","deviceName":"h-0001"}}"#,
        "0".repeat(32)
    );
    let cases: [(&str, String, &str); 5] = [
        ("/auth/register/device", form(&good), "\"deviceSecret\""),
        ("/auth/register/device", form(&"0".repeat(64)), "6600"),
        ("/auth/register/device", "%zz".into(), "460"),
        ("/auth", auth, "20000"),
        ("/nowhere", String::new(), "not found"),
    ];
    // One connection, kept alive, as the SDKs' own clients do; then each
    // case on a fresh one.
    let mut kept = TcpStream::connect(&addr).expect("connect");
    for (path, body, said) in &cases {
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: iot-auth.cn-shanghai.aliyuncs.com\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        for s in [&mut kept, &mut TcpStream::connect(&addr).expect("connect")] {
            s.write_all(req.as_bytes()).expect("send");
            let (head, answer) = read_answer_case_sensitively(s);
            assert!(answer.contains(said), "{path}: {head}\n{answer}");
            assert!(head.contains("\r\nContent-Type: "), "{head}");
        }
    }
}

#[test]
fn one_port_takes_tls_and_plain_tcp_and_mqtts_takes_tls_only() {
    let t = Test::new();
    let p = write_products(t.path(), &["o-0001", "o-0002"]);
    let (ca, cert, key) = test_ca_rsa(t.path());
    let emu = MqttEmulator::start(t.path(), &p, Some((&cert, &key, &ca)), &[]);
    let ds = register(&t, &emu.url, "o-0001", &["--ca-file", s(&ca)]);
    let one = port(&emu.mqtt);
    // TLS on the --mqtt port (securemode 2), as 4.x on the platform's 443.
    csdk(&t, &["mqtt-login", &one, s(&ca), PK, "o-0001", &ds])
        .stdout_contains("connect rc=0")
        .run();
    // Plain TCP on the same port (securemode 3).
    let (_raw, code) = Raw::connect(&emu.mqtt, login_connect(&t, "o-0001", &ds, 60));
    assert_eq!(code, Some(ConnectReturnCode::Success));
    // --mqtts stays TLS only: a plain CONNECT gets no CONNACK.
    let mqtts = emu.mqtts.as_deref().expect("mqtts");
    let (_raw, code) = Raw::connect(mqtts, login_connect(&t, "o-0001", &ds, 60));
    assert_eq!(code, None);
    // MQTT registration over TLS on the one port.
    let dn = "o-0002";
    csdk(&t, &["mqtt-register", &one, s(&ca), PK, dn, PS])
        .stdout_contains("register topic=/ext/register secret=")
        .run();
    assert_eq!(emu.device(dn).secrets_issued, 1);
}

#[test]
fn mqtt_registration_over_plain_tcp_is_refused() {
    let t = Test::new();
    let p = t.path().join("products.yaml");
    common::emulator::write_private(
        &p,
        &format!("products:\n  - product_key: {PK}\n    product_secret: {PS}\n    register_without_precreate: true\n    devices: [r-0001]\n"),
    );
    let emu = MqttEmulator::start(t.path(), &p, None, &[]);
    for (dn, kind) in [("r-0001", "register"), ("r-0002", "regnwl")] {
        let (mut raw, code) = Raw::connect(&emu.mqtt, register_connect(dn, kind));
        assert_eq!(code, Some(ConnectReturnCode::BadClientId), "{kind}");
        assert!(raw.recv(Duration::from_millis(300)).is_none(), "{kind}");
    }
    // The 免预注册 login (connwl) too.
    let (_raw, code) = Raw::connect(
        &emu.mqtt,
        connect(
            &format!("{PK}.r-0002.x|authType=connwl,securemode=-2,_ss=1,ext=3,|"),
            &format!("r-0002&{PK}"),
            "token",
            60,
        ),
    );
    assert_eq!(code, Some(ConnectReturnCode::BadClientId));
    let d = emu.device("r-0001");
    assert_eq!(d.secrets_issued, 0, "{d:?}");
    assert!(emu.devices().iter().all(|d| d.device_name != "r-0002"));
    assert!(emu.log_text().contains("need TLS"), "{}", emu.log_text());
}

#[test]
fn keepalive_over_1200_is_accepted_and_held_to_1200() {
    let t = Test::new();
    let p = write_products(t.path(), &["k-0001"]);
    let emu = MqttEmulator::start(t.path(), &p, None, &[]);
    let ds = register(&t, &emu.url, "k-0001", &[]);
    for k in [1201, 3600, u16::MAX] {
        let (_raw, code) = Raw::connect(&emu.mqtt, login_connect(&t, "k-0001", &ds, k));
        assert_eq!(code, Some(ConnectReturnCode::Success), "keepalive {k}");
        assert!(
            emu.log_text()
                .contains(&format!("keepalive {k} s held to 1200 s")),
            "{}",
            emu.log_text()
        );
    }
    for k in [0, 29] {
        let (_raw, code) = Raw::connect(&emu.mqtt, login_connect(&t, "k-0001", &ds, k));
        assert_eq!(code, Some(ConnectReturnCode::BadClientId), "keepalive {k}");
    }
    let (_raw, code) = Raw::connect(&emu.mqtt, login_connect(&t, "k-0001", &ds, 30));
    assert_eq!(code, Some(ConnectReturnCode::Success));
}

#[test]
fn a_device_uses_only_its_own_topics() {
    let t = Test::new();
    let p = write_products(t.path(), &["t-0001", "t-0002"]);
    let emu = MqttEmulator::start(t.path(), &p, None, &[]);
    let ds = register(&t, &emu.url, "t-0001", &[]);
    let mut raw = login(&t, &emu, "t-0001", &ds);
    let own = [
        format!("/sys/{PK}/t-0001/thing/event/+/post_reply"),
        format!("/{PK}/t-0001/user/get"),
        format!("/ext/session/{PK}/t-0001/combine/login_reply"),
        format!("/shadow/get/{PK}/t-0001"),
        format!("/ota/device/upgrade/{PK}/t-0001"),
        format!("/broadcast/{PK}/news"),
    ];
    let foreign = [
        "#".to_owned(),
        format!("+/{PK}/t-0001/user/get"),
        format!("/sys/{PK}/t-0002/thing/event/+/post_reply"),
        format!("/{PK}/+/user/get"),
        format!("/sys/{PK_OFF}/off1/#"),
        format!("/broadcast/{PK_OFF}/news"),
    ];
    let mut filters: Vec<&str> = own.iter().map(String::as_str).collect();
    filters.extend(foreign.iter().map(String::as_str));
    let codes = raw.subscribe(&filters);
    let granted = SubscribeReasonCode::Success(QoS::AtLeastOnce);
    let mut want = vec![granted; own.len()];
    want.extend(vec![SubscribeReasonCode::Failure; foreign.len()]);
    assert_eq!(codes, want);

    // Another device's topic: dropped, no PUBACK; the connection stays.
    let mut p = Publish::new(format!("/{PK}/t-0002/user/update"), QoS::AtLeastOnce, "x");
    p.pkid = 11;
    raw.send(Packet::Publish(p));
    // Its own topic: PUBACK.
    let mut p = Publish::new(format!("/{PK}/t-0001/user/update"), QoS::AtLeastOnce, "y");
    p.pkid = 12;
    raw.send(Packet::Publish(p));
    match raw.recv(Duration::from_secs(5)) {
        Some(Packet::PubAck(a)) => assert_eq!(a.pkid, 12),
        other => panic!("expected the PUBACK of 12 only, got {other:?}"),
    }
    raw.send(Packet::PingReq);
    assert!(matches!(
        raw.recv(Duration::from_secs(5)),
        Some(Packet::PingResp)
    ));
    assert!(emu.log_text().contains(&format!(
        "PUBLISH /{PK}/t-0002/user/update: No authorization"
    )));

    // A will on another device's topic: refused; on its own: accepted.
    let mut c = login_connect(&t, "t-0001", &ds, 60);
    c.last_will = Some(LastWill::new(
        format!("/{PK}/t-0002/user/update"),
        "gone",
        QoS::AtMostOnce,
        false,
    ));
    let (_r, code) = Raw::connect(&emu.mqtt, c);
    assert_eq!(code, Some(ConnectReturnCode::NotAuthorized));
    let mut c = login_connect(&t, "t-0001", &ds, 60);
    c.last_will = Some(LastWill::new(
        format!("/{PK}/t-0001/user/update"),
        "gone",
        QoS::AtMostOnce,
        false,
    ));
    let (_r, code) = Raw::connect(&emu.mqtt, c);
    assert_eq!(code, Some(ConnectReturnCode::Success));
}

#[test]
fn alink_replies_routing_and_the_admin_publish() {
    let t = Test::new();
    let p = write_products(t.path(), &["a-0001", "a-0002"]);
    let emu = MqttEmulator::start(t.path(), &p, None, &[]);
    let ds1 = register(&t, &emu.url, "a-0001", &[]);
    let ds2 = register(&t, &emu.url, "a-0002", &[]);
    let mut one = login(&t, &emu, "a-0001", &ds1);
    let mut two = login(&t, &emu, "a-0002", &ds2);
    let sys = format!("/sys/{PK}/a-0001/thing/event");
    let get = format!("/{PK}/a-0001/user/get");
    let news = format!("/broadcast/{PK}/news");
    assert!(one
        .subscribe(&[&format!("{sys}/+/post_reply"), &get, &news])
        .iter()
        .all(|c| *c != SubscribeReasonCode::Failure));
    assert!(two
        .subscribe(&[&news])
        .iter()
        .all(|c| *c != SubscribeReasonCode::Failure));

    // The property post and its reply, with the platform's body.
    let post = r#"{"id":"42","version":"1.0","params":{"Temperature":21.5},"method":"thing.event.property.post"}"#;
    one.send(Packet::Publish(Publish::new(
        format!("{sys}/property/post"),
        QoS::AtMostOnce,
        post,
    )));
    assert_eq!(
        one.publish_in(),
        (
            format!("{sys}/property/post_reply"),
            r#"{"code":200,"data":{},"id":"42","message":"success","method":"thing.event.property.post","version":"1.0"}"#.to_owned()
        )
    );
    // An event post that is not Alink JSON: 460.
    one.send(Packet::Publish(Publish::new(
        format!("{sys}/alarm/post"),
        QoS::AtMostOnce,
        "not json",
    )));
    let (topic, body) = one.publish_in();
    assert_eq!(topic, format!("{sys}/alarm/post_reply"));
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        (v["code"].as_i64(), v["method"].as_str()),
        (Some(460), Some("thing.event.alarm.post")),
        "{body}"
    );

    // The console publishes to the device's topic: it arrives.
    let publish = |topic: &str, payload: &str| {
        let (status, body) = admin(
            &emu.url,
            "POST",
            "/admin/publish",
            Some(&serde_json::json!({"topic": topic, "payload": payload, "qos": 1}).to_string()),
            None,
        );
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        v["delivered"].as_u64().expect("delivered")
    };
    assert_eq!(publish(&get, "down"), 1);
    assert_eq!(one.publish_in(), (get.clone(), "down".to_owned()));
    // A broadcast reaches every subscriber of the product.
    assert_eq!(publish(&news, "all"), 2);
    assert_eq!(one.publish_in(), (news.clone(), "all".to_owned()));
    assert_eq!(two.publish_in(), (news.clone(), "all".to_owned()));
    // A device's publish reaches the subscribers of its topic (itself here).
    let update = format!("/{PK}/a-0001/user/update");
    one.subscribe(&[&update]);
    one.send(Packet::Publish(Publish::new(
        update.clone(),
        QoS::AtMostOnce,
        "up",
    )));
    assert_eq!(one.publish_in(), (update, "up".to_owned()));
    assert!(two.recv(Duration::from_millis(300)).is_none());
    // Wildcards are not a topic name.
    let (status, _) = admin(
        &emu.url,
        "POST",
        "/admin/publish",
        Some(r#"{"topic":"/broadcast/+/news","payload":"x"}"#),
        None,
    );
    assert_eq!(status, 400);
}

#[test]
fn the_listing_names_states_as_the_platform_does() {
    let t = Test::new();
    let p = write_products(t.path(), &["s-0001"]);
    let emu = MqttEmulator::start(t.path(), &p, None, &[]);
    let status = || {
        let (code, body) = admin(&emu.url, "GET", "/admin/devices", None, None);
        assert_eq!(code, 200);
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        v.as_array()
            .expect("list")
            .iter()
            .find(|d| d["device_name"] == "s-0001")
            .and_then(|d| d["status"].as_str())
            .map(str::to_owned)
    };
    assert_eq!(status().as_deref(), Some("UNACTIVE"));
    let ds = register(&t, &emu.url, "s-0001", &[]);
    assert_eq!(status().as_deref(), Some("UNACTIVE"));
    let raw = login(&t, &emu, "s-0001", &ds);
    emu.wait_online("s-0001", true);
    assert_eq!(status().as_deref(), Some("ONLINE"));
    drop(raw);
    emu.wait_online("s-0001", false);
    assert_eq!(status().as_deref(), Some("OFFLINE"));
    let (code, _) = admin(
        &emu.url,
        "PUT",
        &format!("/admin/devices/{PK}/s-0001/enabled"),
        Some(r#"{"enabled":false}"#),
        None,
    );
    assert_eq!(code, 200);
    assert_eq!(status().as_deref(), Some("DISABLE"));
}

#[test]
fn a_certificate_that_is_not_rsa_is_warned_about() {
    let t = Test::new();
    let p = write_products(t.path(), &["w-0001"]);
    let (ca, cert, key) = common::emulator::test_ca(t.path());
    let emu = MqttEmulator::start(t.path(), &p, Some((&cert, &key, &ca)), &[]);
    assert!(
        emu.log_text().contains("--tls-key is not an RSA key"),
        "{}",
        emu.log_text()
    );
    // Without an RSA certificate the C SDKs' suites cannot be agreed on.
    t.tool("openssl")
        .args([
            "s_client",
            "-connect",
            emu.url.trim_start_matches("https://"),
        ])
        .args(["-tls1_2", "-cipher", "AES128-SHA256"])
        .stdin("")
        .fails()
        .run();
}
