//! The seed's last step, end to end on 127.0.0.1: an image is built, the
//! bootstrap boots it (on the image file), `status --check-online` logs in
//! over MQTT, and the emulator lists the device activated (and online while
//! Alibaba's Python SDK holds a connection with the image's triple, as the
//! edge runtime would); a second registration then gets 6289. For 一型一密
//! (registering over HTTP, and over MQTT with `--register-via mqtt`) and
//! 一机一密 (the triple from the CSV). Also the check's exit codes: 3
//! refused, 4 unreachable, 2 plain TCP to a host that is not loopback.

mod common;

use common::emulator::{admin, register, test_ca};
use common::images::inspect_json;
use common::mqtt::{python, MqttEmulator};
use common::*;
use std::path::{Path, PathBuf};

fn products(dir: &Path, devices: &[&str]) -> PathBuf {
    let p = dir.join("products.yaml");
    common::emulator::write_private(
        &p,
        &format!(
            "products:\n  - product_key: {PK}\n    product_secret: {PS}\n    devices: [{}]\n",
            devices.join(", ")
        ),
    );
    p
}

/// The bootstrap in a fresh temp dir, with the recipes' ProductSecret in
/// its environment (for the builds made from it).
fn test() -> Test {
    Test::bootstrap().env("TEST_PS", PS)
}

/// Builds `r.yaml` (an 8 MiB GPT disk with `auth`) for the devices of
/// `csv` into `t`'s `out/`.
fn build(t: &Test, auth: &str, csv: &str) -> PathBuf {
    let recipe = format!(
        "disk:\n  size: 8MiB\n  table: gpt\n  seed: 0123456789abcdef0123456789abcdef\npartitions:\n  - name: creds\n    size: 1MiB\n    type: linux\n    credentials: {{}}\n  - name: data\n    size: fill\n{auth}"
    );
    std::fs::write(t.path().join("r.yaml"), recipe).expect("recipe");
    std::fs::write(t.path().join("d.csv"), csv).expect("csv");
    t.burnline()
        .args(["build", "r.yaml", "--devices", "d.csv", "--out", "out"])
        .run();
    t.path().join("out")
}

fn device_secret(t: &Test, img: &Path) -> String {
    inspect_json(t, img, true)["credentials"]["device_secret"]
        .as_str()
        .expect("a DeviceSecret in the image")
        .to_owned()
}

/// `burnline-bootstrap status --device IMG --check-online --mqtt ADDR`.
fn check_online(t: &Test, img: &Path, mqtt: &str) -> Test {
    t.cmd().args([
        "status",
        "--device",
        s(img),
        "--check-online",
        "--mqtt",
        mqtt,
    ])
}

/// The image's triple logs in and stays connected (the edge runtime's part,
/// played by Alibaba's Python SDK) while the listing shows it online.
fn online_while_held(t: &Test, emu: &MqttEmulator, dn: &str, ds: &str) {
    let port = emu.mqtt_port().to_string();
    let held = python(
        t,
        Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/clients/linkkit_client.py"
        )),
    )
    .args(["login", &port, "-", PK, dn, ds, "3"])
    .spawn();
    emu.wait_online(dn, true);
    let d = emu.device(dn);
    assert!(d.activated && d.online, "{d:?}");
    held.wait();
    emu.wait_online(dn, false);
}

#[test]
fn product_secret_image_boots_registers_and_goes_online() {
    let t = test();
    let p = products(t.path(), &["e2e-0001", "e2e-0002"]);
    let state = t.path().join("state.json");
    // TLS: MQTT registration takes TLS only (on the --mqtt port too).
    let (ca, cert, key) = test_ca(t.path());
    let emu = MqttEmulator::start(
        t.path(),
        &p,
        Some((&cert, &key, &ca)),
        &["--state", s(&state)],
    );
    let auth = format!(
        "auth:\n  mode: product-secret\n  product_key: {PK}\n  product_secret: {{ env: TEST_PS }}\n  endpoint: {}\n",
        emu.url
    );
    let out = build(&t, &auth, "DeviceName\ne2e-0001\ne2e-0002\n");
    let img = out.join("e2e-0001.img");

    // First boot registers (HTTP) and stores the triple; not activated yet.
    t.cmd()
        .args(["run", "--device", s(&img), "--ca-file", s(&ca)])
        .run();
    let ds = device_secret(&t, &img);
    let d = emu.device("e2e-0001");
    assert!(!d.activated && d.secrets_issued == 1, "{d:?}");

    // The online check logs in over MQTT: activated from now on.
    check_online(&t, &img, &emu.mqtt)
        .stdout_contains("online: the platform accepted the MQTT login")
        .output_lacks(&ds)
        .run();
    let d = emu.device("e2e-0001");
    assert!(d.activated && d.last_online.is_some(), "{d:?}");
    online_while_held(&t, &emu, "e2e-0001", &ds);

    // A second registration is refused: 6289.
    t.burnline()
        .args(["register", PK, "e2e-0001", PS, "--endpoint", &emu.url])
        .args(["--ca-file", s(&ca)])
        .status(3)
        .stderr_contains("6289")
        .run();

    // The same image registered over MQTT (--register-via mqtt).
    let img2 = out.join("e2e-0002.img");
    t.cmd()
        .args(["run", "--device", s(&img2), "--register-via", "mqtt"])
        .args(["--mqtt", &format!("mqtts://{}", emu.mqtt)])
        .args(["--ca-file", s(&ca)])
        .run();
    assert!(emu
        .log_text()
        .contains(&format!("mqtt register {PK} e2e-0002: CONNACK 0, issued")));
    check_online(&t, &img2, &emu.mqtt).run();
    assert!(emu.device("e2e-0002").activated);

    // Exit codes of the check: refused after a delete (3), unreachable (4),
    // plain TCP to a host that is not loopback (2, nothing sent).
    let (status, _) = admin(
        &emu.url,
        "DELETE",
        &format!("/admin/devices/{PK}/e2e-0002"),
        None,
        emu.ca.as_deref(),
    );
    assert_eq!(status, 200);
    check_online(&t, &img2, &emu.mqtt)
        .status(3)
        .stderr_contains("CONNACK 5")
        .run();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    check_online(&t, &img2, &format!("127.0.0.1:{port}"))
        .status(4)
        .run();
    check_online(&t, &img2, "10.0.0.1:1883")
        .status(2)
        .stderr_contains("loopback")
        .run();
    assert!(!emu.log_text().contains(&ds));
}

#[test]
fn device_secret_image_goes_online_over_tls() {
    let t = test();
    let p = products(t.path(), &["e2e-0101"]);
    let (ca, cert, key) = test_ca(t.path());
    let emu = MqttEmulator::start(t.path(), &p, Some((&cert, &key, &ca)), &[]);
    // The "console" issues the secret that the certificate download holds.
    let issued = register(&t, &emu.url, "e2e-0101", &["--ca-file", s(&ca)]);
    let auth = format!("auth:\n  mode: device-secret\n  product_key: {PK}\n");
    let out = build(
        &t,
        &auth,
        &format!("DeviceName,DeviceSecret,ProductKey\ne2e-0101,{issued},{PK}\n"),
    );
    let img = out.join("e2e-0101.img");
    // A full triple needs no network.
    t.cmd()
        .args([
            "run",
            "--device",
            s(&img),
            "--endpoint",
            "http://127.0.0.1:1",
        ])
        .run();
    let mqtts = format!("mqtts://{}", emu.mqtts.as_deref().expect("mqtts"));

    // Without the CA: verification fails (network, 4), nothing logged in.
    check_online(&t, &img, &mqtts)
        .status(4)
        .stderr_contains("certificate")
        .run();
    assert!(!emu.device("e2e-0101").activated);
    // With it: online over TLS (securemode 2).
    check_online(&t, &img, &mqtts)
        .args(["--ca-file", s(&ca)])
        .run();
    assert!(emu.device("e2e-0101").activated);
    online_while_held(&t, &emu, "e2e-0101", &issued);
    t.burnline()
        .args(["register", PK, "e2e-0101", PS, "--endpoint", &emu.url])
        .args(["--ca-file", s(&ca)])
        .status(3)
        .stderr_contains("6289")
        .run();
}

#[test]
fn register_via_mqtt_is_recorded_from_the_recipe() {
    let t = test();
    let p = products(t.path(), &["e2e-0201"]);
    let (ca, cert, key) = test_ca(t.path());
    let emu = MqttEmulator::start(t.path(), &p, Some((&cert, &key, &ca)), &[]);
    let auth = format!(
        "auth:\n  mode: product-secret\n  product_key: {PK}\n  product_secret: {{ env: TEST_PS }}\n  register_via: mqtt\n"
    );
    let out = build(&t, &auth, "DeviceName\ne2e-0201\n");
    let img = out.join("e2e-0201.img");
    let v = inspect_json(&t, &img, false);
    assert_eq!(v["credentials"]["register_via"], "mqtt", "{v}");
    // No --register-via: the record says MQTT (--mqtt only says where).
    t.cmd()
        .args(["run", "--device", s(&img), "--mqtt"])
        .args([&format!("mqtts://{}", emu.mqtt), "--ca-file", s(&ca)])
        .run();
    assert!(
        emu.log_text()
            .contains(&format!("mqtt register {PK} e2e-0201: CONNACK 0, issued")),
        "{}",
        emu.log_text()
    );
    assert_eq!(emu.device("e2e-0201").secrets_issued, 1);

    // A value that is not http or mqtt, or register_via with 一机一密: exit 2.
    for (auth, csv) in [
        (
            format!("auth:\n  mode: product-secret\n  product_key: {PK}\n  product_secret: {{ env: TEST_PS }}\n  register_via: smtp\n"),
            "DeviceName\ne2e-0201\n".to_owned(),
        ),
        (
            format!("auth:\n  mode: device-secret\n  product_key: {PK}\n  register_via: mqtt\n"),
            format!("DeviceName,DeviceSecret\ne2e-0201,{PS}\n"),
        ),
    ] {
        std::fs::write(
            t.path().join("bad.yaml"),
            format!("disk:\n  size: 8MiB\n  table: gpt\n  seed: 0123456789abcdef0123456789abcdef\npartitions:\n  - name: creds\n    size: 1MiB\n    type: linux\n    credentials: {{}}\n{auth}"),
        )
        .expect("recipe");
        std::fs::write(t.path().join("bad.csv"), csv).expect("csv");
        t.burnline()
            .args(["check", "bad.yaml", "--devices", "bad.csv"])
            .status(2)
            .stderr_contains("auth.register_via")
            .run();
    }
}
