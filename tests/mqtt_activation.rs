//! The emulator's MQTT server against mosquitto_pub and raw sockets on
//! 127.0.0.1: the platform's CONNECT rules (CONNACK 0/2/4/5), activation at
//! the first accepted login, a replaced secret refused, 6289 until a delete
//! or reset, one connection per device, offline on DISCONNECT/EOF, the
//! listing's fields, state across a restart, and no secret in the log.

mod common;

use common::emulator::{admin, register, state_secrets, write_products};
use common::mqtt::{connect_packet, mosquitto_pub, plain_credentials, MqttEmulator};
use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Connects, sends CONNECT, returns the stream and the CONNACK code.
fn raw_login(addr: &str, cid: &str, user: &str, pw: &str, keepalive: u16) -> (TcpStream, u8) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(&connect_packet(cid, user, pw, keepalive))
        .expect("send");
    let mut ack = [0u8; 4];
    s.read_exact(&mut ack).expect("CONNACK");
    assert_eq!(&ack[..3], &[0x20, 0x02, 0x00], "not a CONNACK: {ack:?}");
    (s, ack[3])
}

/// A topic of mq-0001's own (`/{PK}/{DN}/user/…`): the platform drops a
/// publish elsewhere, with no PUBACK.
const OWN_TOPIC: &str = "/a1X2bEnP82z/mq-0001/user/update";

/// mosquitto_pub's arguments: one QoS 1 message on [`OWN_TOPIC`] to
/// 127.0.0.1:`port` with the keepalive last.
fn pub_args<'a>(port: &'a str, cid: &'a str, user: &'a str, pw: &'a str) -> Vec<&'a str> {
    vec![
        "-h",
        "127.0.0.1",
        "-p",
        port,
        "-V",
        "mqttv311",
        "-i",
        cid,
        "-u",
        user,
        "-P",
        pw,
        "-t",
        OWN_TOPIC,
        "-m",
        "hello",
        "-q",
        "1",
        "-k",
        "60",
    ]
}

#[test]
fn mosquitto_pub_meets_the_connect_rules() {
    let t = Test::new();
    let products = write_products(t.path(), &["mq-0001"]);
    let emu = MqttEmulator::start(t.path(), &products, None, &[]);
    let ds = register(&t, &emu.url, "mq-0001", &[]);
    let (cid, user, pw) = plain_credentials(&t, PK, "mq-0001", &ds);
    let port = emu.mqtt_port().to_string();

    mosquitto_pub(&t)
        .args(pub_args(&port, &cid, &user, &pw))
        .run();
    // Upper-case hex is the same password.
    let upper = pw.to_uppercase();
    mosquitto_pub(&t)
        .args(pub_args(&port, &cid, &user, &upper))
        .run();

    let wrong_pw = "0".repeat(64);
    let cases: Vec<(String, String, String, &str)> = vec![
        (
            "no-pipes-at-all".into(),
            user.clone(),
            pw.clone(),
            "identifier rejected",
        ),
        (
            format!("{PK}.mq-0001|signmethod=hmacsha256|"),
            user.clone(),
            pw.clone(),
            "identifier rejected",
        ),
        (
            format!("{PK}.mq-0001|securemode=3,signmethod=hmacsha512|"),
            user.clone(),
            pw.clone(),
            "identifier rejected",
        ),
        (
            format!("{PK}.mq-0001|securemode=2,signmethod=hmacsha256|"),
            user.clone(),
            pw.clone(),
            "identifier rejected",
        ),
        (
            format!("{PK}.mq-0001|securemode=3,signmethod=hmacsha256"),
            user.clone(),
            pw.clone(),
            "identifier rejected",
        ),
        (
            cid.clone(),
            format!("mq-0001{PK}"),
            pw.clone(),
            "bad user name or password",
        ),
        (
            cid.clone(),
            format!("&{PK}"),
            pw.clone(),
            "bad user name or password",
        ),
        (
            cid.clone(),
            user.clone(),
            "not-hex".into(),
            "bad user name or password",
        ),
        (cid.clone(), user.clone(), wrong_pw, "not authori"),
        (
            cid.clone(),
            format!("nobody&{PK}"),
            pw.clone(),
            "not authori",
        ),
    ];
    for (c, u, p, said) in &cases {
        mosquitto_pub(&t)
            .args(pub_args(&port, c, u, p))
            .fails()
            .output_contains(*said)
            .run();
    }
    // Keepalive under 30 s (over 1200 s is accepted and held to 1200 s:
    // tests/emulator_csdk.rs).
    for k in ["10", "29"] {
        let mut args = pub_args(&port, &cid, &user, &pw);
        let at = args.len() - 1;
        args[at] = k;
        mosquitto_pub(&t)
            .args(args)
            .fails()
            .output_contains("identifier rejected")
            .run();
    }
    let log = emu.log_text();
    assert!(
        !log.contains(&ds) && !log.contains(&pw) && !log.contains(PS),
        "{log}"
    );
}

#[test]
fn activation_at_first_connect_and_one_connection_per_device() {
    let t = Test::new();
    let products = write_products(t.path(), &["act-0001", "act-0002"]);
    let state = t.path().join("state.json");
    let state_arg = s(&state);
    let emu = MqttEmulator::start(t.path(), &products, None, &["--state", state_arg]);

    // Two registrations before the first connect: the first secret is dead.
    let first = register(&t, &emu.url, "act-0001", &[]);
    let second = register(&t, &emu.url, "act-0001", &[]);
    assert_ne!(first, second);
    let d = emu.device("act-0001");
    assert_eq!((d.activated, d.online, d.secrets_issued), (false, false, 2));
    let (cid, user, pw) = plain_credentials(&t, PK, "act-0001", &first);
    let (_, code) = raw_login(&emu.mqtt, &cid, &user, &pw, 60);
    assert_eq!(code, 5, "the replaced secret logged in");
    assert!(!emu.device("act-0001").activated);

    // The latest secret logs in: activated and online.
    let (cid, user, pw) = plain_credentials(&t, PK, "act-0001", &second);
    let (mut one, code) = raw_login(&emu.mqtt, &cid, &user, &pw, 60);
    assert_eq!(code, 0);
    let d = emu.device("act-0001");
    assert!(d.activated && d.online && d.last_online.is_some(), "{d:?}");
    // PINGREQ is answered.
    one.write_all(&[0xC0, 0x00]).expect("ping");
    let mut resp = [0u8; 2];
    one.read_exact(&mut resp).expect("PINGRESP");
    assert_eq!(resp, [0xD0, 0x00]);

    // Activated: registration is refused with 6289, naming both remedies.
    t.cmd()
        .args(["register", PK, "act-0001", PS, "--endpoint", &emu.url])
        .status(3)
        .stderr_contains("6289")
        .stderr_contains("delete the device")
        .stderr_contains("reset")
        .run();

    // A second connection of the device closes the first; still online.
    let (mut two, code) = raw_login(&emu.mqtt, &cid, &user, &pw, 60);
    assert_eq!(code, 0);
    let mut buf = [0u8; 16];
    assert_eq!(
        one.read(&mut buf).expect("first closed"),
        0,
        "the first connection stayed open"
    );
    assert!(emu.device("act-0001").online);
    // DISCONNECT: offline.
    two.write_all(&[0xE0, 0x00]).expect("disconnect");
    emu.wait_online("act-0001", false);

    // EOF alone is offline too.
    let (held, code) = raw_login(&emu.mqtt, &cid, &user, &pw, 30);
    assert_eq!(code, 0);
    emu.wait_online("act-0001", true);
    drop(held);
    emu.wait_online("act-0001", false);

    // Disabled in the console: the connection it had is closed, and every
    // login gets CONNACK 5 until it is enabled again.
    let (mut held, code) = raw_login(&emu.mqtt, &cid, &user, &pw, 60);
    assert_eq!(code, 0);
    let enabled = |on: bool| {
        admin(
            &emu.url,
            "PUT",
            &format!("/admin/devices/{PK}/act-0001/enabled"),
            Some(&format!("{{\"enabled\": {on}}}")),
            None,
        )
    };
    let (status, body) = enabled(false);
    assert_eq!(status, 200, "{body}");
    assert_eq!(held.read(&mut buf).expect("closed by disable"), 0);
    let (_, code) = raw_login(&emu.mqtt, &cid, &user, &pw, 60);
    assert_eq!(code, 5, "a disabled device logged in");
    let d = emu.device("act-0001");
    assert!(d.disabled && !d.online, "{d:?}");
    let (status, body) = enabled(true);
    assert_eq!(status, 200, "{body}");
    let (held, code) = raw_login(&emu.mqtt, &cid, &user, &pw, 60);
    assert_eq!(code, 0, "enabled again, the device logs in");
    drop(held);
    emu.wait_online("act-0001", false);

    // Reset: may register again; the connection it had is closed.
    let (mut held, _) = raw_login(&emu.mqtt, &cid, &user, &pw, 60);
    let (status, body) = admin(
        &emu.url,
        "POST",
        &format!("/admin/devices/{PK}/act-0001/reset"),
        Some(""),
        None,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(held.read(&mut buf).expect("closed by reset"), 0);
    assert!(!emu.device("act-0001").activated);
    let third = register(&t, &emu.url, "act-0001", &[]);
    let d = emu.device("act-0001");
    assert_eq!((d.activated, d.secrets_issued), (false, 3));

    // State survives a restart: the secret, the count, last_online.
    drop(emu);
    let emu = MqttEmulator::start(t.path(), &products, None, &["--state", state_arg]);
    let d = emu.device("act-0001");
    assert_eq!((d.activated, d.online, d.secrets_issued), (false, false, 3));
    assert!(d.last_online.is_some());
    assert!(state_secrets(&state).contains(&("act-0001".to_owned(), third.clone())));
    let (cid, user, pw) = plain_credentials(&t, PK, "act-0001", &third);
    let (_, code) = raw_login(&emu.mqtt, &cid, &user, &pw, 60);
    assert_eq!(code, 0);
    assert!(emu.device("act-0001").activated);

    // Delete: forgets everything.
    let (status, _) = admin(
        &emu.url,
        "DELETE",
        &format!("/admin/devices/{PK}/act-0001"),
        None,
        None,
    );
    assert_eq!(status, 200);
    let d = emu.device("act-0001");
    assert_eq!((d.activated, d.secrets_issued), (false, 0));
    let (_, code) = raw_login(&emu.mqtt, &cid, &user, &pw, 60);
    assert_eq!(code, 5, "a deleted device logged in");

    let log = emu.log_text();
    for s in [&first, &second, &third] {
        assert!(!log.contains(s.as_str()), "a secret is in the log");
    }
}
