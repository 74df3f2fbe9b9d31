//! Alibaba's own device SDKs against the emulator on 127.0.0.1: the Python
//! SDK (aliyun-iot-linkkit 1.2.13, paho-mqtt 1.6.1) logs in with the triple
//! read from a built image, over plain TCP and over TLS with a test CA
//! (verification on), is refused with a wrong secret, and registers over
//! MQTT both ways (`register`, and `regnwl` then `connwl`), over TLS as the
//! platform requires; the Node SDK
//! (alibabacloud-iot-device-sdk 1.2.8) logs in, subscribes and publishes.
//! The clients are installed by scripts/test-clients.sh.

mod common;

use common::emulator::{register, test_ca};
use common::images::inspect_json;
use common::mqtt::{node, python, MqttEmulator};
use common::*;
use std::path::{Path, PathBuf};

const CLIENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients");

fn products(dir: &Path, devices: &[&str]) -> PathBuf {
    let list = devices.join(", ");
    let text = format!(
        "products:\n  - product_key: {PK}\n    product_secret: {PS}\n    register_without_precreate: true\n    devices: [{list}]\n"
    );
    let p = dir.join("products.yaml");
    common::emulator::write_private(&p, &text);
    p
}

/// Alibaba's Python SDK, driven by tests/clients/linkkit_client.py with
/// `args`, in `t`'s directory.
fn linkkit(t: &Test, args: &[&str]) -> Test {
    python(t, Path::new(&format!("{CLIENTS}/linkkit_client.py"))).args(args)
}

/// A login or registration the platform must refuse: the SDK's paho saw
/// CONNACK 5 (the SDK itself only retries), and nothing succeeded.
fn linkkit_refused(t: &Test, args: &[&str]) {
    linkkit(t, args)
        .env("LINKKIT_WAIT", "4")
        .fails()
        .output_contains("Received CONNACK (0, 5)")
        .run();
}

/// Builds a 一机一密 image for `dn` with `ds` in `t`'s directory and reads
/// the triple back out of it with `inspect --reveal-secrets`.
fn triple_from_image(t: &Test, dn: &str, ds: &str) -> (String, String, String) {
    let dir = t.path();
    let recipe = format!(
        "disk:\n  size: 8MiB\n  table: gpt\n  seed: 0123456789abcdef0123456789abcdef\npartitions:\n  - name: creds\n    size: 1MiB\n    type: linux\n    credentials: {{}}\n  - name: data\n    size: fill\nauth:\n  mode: device-secret\n  product_key: {PK}\n"
    );
    std::fs::write(dir.join("r.yaml"), recipe).expect("recipe");
    std::fs::write(
        dir.join("d.csv"),
        format!("DeviceName,DeviceSecret,ProductKey\n{dn},{ds},{PK}\n"),
    )
    .expect("csv");
    t.cmd()
        .args(["build", "r.yaml", "--devices", "d.csv", "--out", "out"])
        .run();
    let v = inspect_json(t, dir.join("out").join(format!("{dn}.img")), true);
    let c = &v["credentials"];
    let get = |k: &str| c[k].as_str().expect("field").to_owned();
    (get("product_key"), get("device_name"), get("device_secret"))
}

#[test]
fn python_sdk_logs_in_with_the_image_triple_and_a_wrong_secret_is_refused() {
    let t = Test::new();
    let p = products(t.path(), &["mq-dev"]);
    let (ca, cert, key) = test_ca(t.path());
    let emu = MqttEmulator::start(t.path(), &p, Some((&cert, &key, &ca)), &[]);
    // Issued by the "console", burned into an image, read back from it.
    let issued = register(&t, &emu.url, "mq-dev", &["--ca-file", s(&ca)]);
    let (pk, dn, ds) = triple_from_image(&t, "mq-dev", &issued);
    assert_eq!(
        (pk.as_str(), dn.as_str(), ds.as_str()),
        (PK, "mq-dev", issued.as_str())
    );

    // Plain TCP: the SDK holds the connection for 3 s; the console shows it online.
    let port = emu.mqtt_port().to_string();
    let held = linkkit(&t, &["login", &port, "-", &pk, &dn, &ds, "3"])
        .output_contains("connect rc=0")
        .spawn();
    emu.wait_online("mq-dev", true);
    let d = emu.device("mq-dev");
    assert!(d.activated && d.online, "{d:?}");
    held.wait();
    emu.wait_online("mq-dev", false);

    // A wrong secret: CONNACK 5, reported by the SDK.
    linkkit_refused(&t, &["login", &port, "-", &pk, &dn, DS1, "0"]);

    // TLS with the test CA as the SDK's only root (securemode 2).
    let tls_port = emu
        .mqtts
        .as_deref()
        .and_then(|a| a.rsplit_once(':'))
        .map(|(_, p)| p.to_owned())
        .expect("mqtts");
    linkkit(&t, &["login", &tls_port, s(&ca), &pk, &dn, &ds, "0"])
        .output_contains("connect rc=0")
        .run();
    let log = emu.log_text();
    assert!(
        !log.contains(&ds),
        "the DeviceSecret is in the emulator's log"
    );
}

#[test]
fn python_sdk_registers_over_mqtt_both_ways() {
    let t = Test::new();
    let p = products(t.path(), &["dyn-0001"]);
    // Registration takes TLS only: the SDK speaks TLS to the --mqtt port
    // (which takes TLS and plain TCP), trusting the test CA.
    let (ca, cert, key) = test_ca(t.path());
    let emu = MqttEmulator::start(t.path(), &p, Some((&cert, &key, &ca)), &[]);
    let port = emu.mqtt_port().to_string();
    let ca = s(&ca);

    // authType=register on a pre-created device: /ext/register.
    let said = linkkit(&t, &["register", &port, ca, PK, "dyn-0001", PS])
        .run()
        .text();
    let secret = said
        .lines()
        .find_map(|l| l.strip_prefix("register secret="))
        .expect("secret")
        .to_owned();
    assert_eq!(secret.len(), 32, "{said}");
    let d = emu.device("dyn-0001");
    assert_eq!((d.activated, d.secrets_issued), (false, 1));
    linkkit(&t, &["login", &port, ca, PK, "dyn-0001", &secret, "0"])
        .output_contains("connect rc=0")
        .run();
    assert!(emu.device("dyn-0001").activated);
    // Activated: an MQTT registration is refused too.
    linkkit_refused(&t, &["register", &port, ca, PK, "dyn-0001", PS]);
    // A wrong ProductSecret: refused.
    linkkit_refused(
        &t,
        &["register", &port, ca, PK, "dyn-0001", "0000000000000000"],
    );

    // authType=regnwl (免预注册) on a device not created beforehand.
    let said = linkkit(&t, &["regnwl", &port, ca, PK, "nwl-0001", PS])
        .run()
        .text();
    let line = said
        .lines()
        .find(|l| l.starts_with("regnwl "))
        .expect("regnwl line");
    let field = |k: &str| {
        line.split(' ')
            .find_map(|w| w.strip_prefix(&format!("{k}=")))
            .expect("field")
            .to_owned()
    };
    let (client_id, username, token) = (field("client_id"), field("username"), field("token"));
    assert!(
        client_id.contains("|authType=connwl,securemode=-2,"),
        "{client_id}"
    );
    assert_eq!(username, format!("nwl-0001&{PK}"));
    assert!(!emu.device("nwl-0001").activated);
    linkkit(
        &t,
        &[
            "connwl", &port, ca, PK, "nwl-0001", &client_id, &username, &token, "0",
        ],
    )
    .output_contains("connect rc=0")
    .run();
    assert!(emu.device("nwl-0001").activated);
    linkkit_refused(
        &t,
        &[
            "connwl",
            &port,
            ca,
            PK,
            "nwl-0001",
            &client_id,
            &username,
            "wrongtoken",
            "0",
        ],
    );
    let log = emu.log_text();
    assert!(
        !log.contains(&secret) && !log.contains(&token),
        "a secret is in the log"
    );
}

#[test]
fn node_sdk_logs_in_subscribes_and_publishes() {
    let t = Test::new();
    let p = products(t.path(), &["node-0001"]);
    let emu = MqttEmulator::start(t.path(), &p, None, &[]);
    let ds = register(&t, &emu.url, "node-0001", &[]);
    let script = PathBuf::from(format!("{CLIENTS}/node_client.js"));
    let port = emu.mqtt_port().to_string();
    node(&t, &script)
        .args([port.as_str(), PK, "node-0001", &ds])
        .output_contains("connected")
        .output_contains("subscribed qos=1")
        .output_contains("published")
        .run();
    let d = emu.device("node-0001");
    assert!(d.activated && d.last_online.is_some(), "{d:?}");
    node(&t, &script)
        .args([port.as_str(), PK, "node-0001", DS1])
        .fails()
        .output_contains("error")
        .run();
}
