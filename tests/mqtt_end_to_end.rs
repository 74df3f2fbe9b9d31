//! The seed's last step, end to end on 127.0.0.1: an image is built, the
//! bootstrap boots it (on the image file), `status --check-online` logs in
//! over MQTT, and the emulator lists the device activated (and online while
//! Alibaba's Python SDK holds a connection with the image's triple, as the
//! edge runtime would); a second registration then gets 6289. For 一型一密
//! (registering over HTTP, and over MQTT with `--register-via mqtt`) and
//! 一机一密 (the triple from the CSV). Also the check's exit codes: 3
//! refused, 4 unreachable, 2 plain TCP to a host that is not loopback.

mod common;

use common::emulator::{run, text, BIN, PK, PS};
use common::mqtt::MqttEmulator;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn products(dir: &Path, devices: &[&str]) -> PathBuf {
    let p = dir.join("products.yaml");
    std::fs::write(
        &p,
        format!(
            "products:\n  - product_key: {PK}\n    product_secret: {PS}\n    devices: [{}]\n",
            devices.join(", ")
        ),
    )
    .expect("products");
    p
}

fn boot(args: &[&str]) -> Output {
    Command::new(common::bootstrap_bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run burnline-bootstrap")
}

fn build(dir: &Path, auth: &str, csv: &str) -> PathBuf {
    let recipe = format!(
        "disk:\n  size: 8MiB\n  table: gpt\n  seed: 0123456789abcdef0123456789abcdef\npartitions:\n  - name: creds\n    size: 1MiB\n    type: linux\n    credentials: {{}}\n  - name: data\n    size: fill\n{auth}"
    );
    std::fs::write(dir.join("r.yaml"), recipe).expect("recipe");
    std::fs::write(dir.join("d.csv"), csv).expect("csv");
    let out = dir.join("out");
    let o = Command::new(BIN)
        .arg("build")
        .arg(dir.join("r.yaml"))
        .arg("--devices")
        .arg(dir.join("d.csv"))
        .arg("--out")
        .arg(&out)
        .env("TEST_PS", PS)
        .output()
        .expect("build");
    assert!(o.status.success(), "{}", text(&o.stderr));
    out
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf8")
}

fn device_secret(img: &Path) -> String {
    let o = Command::new(BIN)
        .arg("inspect")
        .arg(img)
        .args(["--json", "--reveal-secrets"])
        .output()
        .expect("inspect");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    v["credentials"]["device_secret"]
        .as_str()
        .expect("a DeviceSecret in the image")
        .to_owned()
}

/// The image's triple logs in and stays connected (the edge runtime's part,
/// played by Alibaba's Python SDK) while the listing shows it online.
fn online_while_held(emu: &MqttEmulator, dn: &str, ds: &str) {
    let port = emu.mqtt_port().to_string();
    let child = Command::new(&common::mqtt::clients().python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/clients/linkkit_client.py"
        ))
        .args(["login", &port, "-", PK, dn, ds, "3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python");
    emu.wait_online(dn, true);
    let d = emu.device(dn);
    assert!(d.activated && d.online, "{d:?}");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "{}", common::mqtt::both(&out));
    emu.wait_online(dn, false);
}

#[test]
fn product_secret_image_boots_registers_and_goes_online() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = products(dir.path(), &["e2e-0001", "e2e-0002"]);
    let state = dir.path().join("state.json");
    let emu = MqttEmulator::start(dir.path(), &p, None, &["--state", s(&state)]);
    let auth = format!(
        "auth:\n  mode: product-secret\n  product_key: {PK}\n  product_secret: {{ env: TEST_PS }}\n  endpoint: {}\n",
        emu.url
    );
    let out = build(dir.path(), &auth, "DeviceName\ne2e-0001\ne2e-0002\n");
    let img = out.join("e2e-0001.img");

    // First boot registers (HTTP) and stores the triple; not activated yet.
    let r = boot(&["run", "--device", s(&img)]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    let ds = device_secret(&img);
    let d = emu.device("e2e-0001");
    assert!(!d.activated && d.secrets_issued == 1, "{d:?}");

    // The online check logs in over MQTT: activated from now on.
    let st = boot(&[
        "status",
        "--device",
        s(&img),
        "--check-online",
        "--mqtt",
        &emu.mqtt,
    ]);
    assert_eq!(st.status.code(), Some(0), "{}", text(&st.stderr));
    let said = text(&st.stdout);
    assert!(
        said.contains("online: the platform accepted the MQTT login"),
        "{said}"
    );
    assert!(!said.contains(&ds) && !text(&st.stderr).contains(&ds));
    let d = emu.device("e2e-0001");
    assert!(d.activated && d.last_online.is_some(), "{d:?}");
    online_while_held(&emu, "e2e-0001", &ds);

    // A second registration is refused: 6289.
    let again = run(&["register", PK, "e2e-0001", PS, "--endpoint", &emu.url]);
    assert_eq!(again.status.code(), Some(3), "{}", text(&again.stderr));
    assert!(text(&again.stderr).contains("6289"));

    // The same image registered over MQTT (--register-via mqtt).
    let img2 = out.join("e2e-0002.img");
    let r = boot(&[
        "run",
        "--device",
        s(&img2),
        "--register-via",
        "mqtt",
        "--mqtt",
        &emu.mqtt,
    ]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    assert!(emu
        .log_text()
        .contains(&format!("mqtt register {PK} e2e-0002: CONNACK 0, issued")));
    let st = boot(&[
        "status",
        "--device",
        s(&img2),
        "--check-online",
        "--mqtt",
        &emu.mqtt,
    ]);
    assert_eq!(st.status.code(), Some(0), "{}", text(&st.stderr));
    assert!(emu.device("e2e-0002").activated);

    // Exit codes of the check: refused after a delete (3), unreachable (4),
    // plain TCP to a host that is not loopback (2, nothing sent).
    let (status, _) = common::emulator::admin(
        &emu.url,
        "DELETE",
        &format!("/admin/devices/{PK}/e2e-0002"),
        None,
        None,
    );
    assert_eq!(status, 200);
    let st = boot(&[
        "status",
        "--device",
        s(&img2),
        "--check-online",
        "--mqtt",
        &emu.mqtt,
    ]);
    assert_eq!(st.status.code(), Some(3), "{}", text(&st.stderr));
    assert!(
        text(&st.stderr).contains("CONNACK 5"),
        "{}",
        text(&st.stderr)
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let st = boot(&[
        "status",
        "--device",
        s(&img2),
        "--check-online",
        "--mqtt",
        &format!("127.0.0.1:{port}"),
    ]);
    assert_eq!(st.status.code(), Some(4), "{}", text(&st.stderr));
    let st = boot(&[
        "status",
        "--device",
        s(&img2),
        "--check-online",
        "--mqtt",
        "10.0.0.1:1883",
    ]);
    assert_eq!(st.status.code(), Some(2), "{}", text(&st.stderr));
    assert!(
        text(&st.stderr).contains("loopback"),
        "{}",
        text(&st.stderr)
    );
    assert!(!emu.log_text().contains(&ds));
}

#[test]
fn device_secret_image_goes_online_over_tls() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = products(dir.path(), &["e2e-0101"]);
    let (ca, cert, key) = common::emulator::test_ca(dir.path());
    let emu = MqttEmulator::start(dir.path(), &p, Some((&cert, &key, &ca)), &[]);
    // The "console" issues the secret that the certificate download holds.
    let reg = run(&[
        "register",
        PK,
        "e2e-0101",
        PS,
        "--endpoint",
        &emu.url,
        "--ca-file",
        s(&ca),
    ]);
    assert_eq!(reg.status.code(), Some(0), "{}", text(&reg.stderr));
    let issued = text(&reg.stdout)
        .trim_end()
        .rsplit(' ')
        .next()
        .expect("ds")
        .to_owned();
    let auth = format!("auth:\n  mode: device-secret\n  product_key: {PK}\n");
    let out = build(
        dir.path(),
        &auth,
        &format!("DeviceName,DeviceSecret,ProductKey\ne2e-0101,{issued},{PK}\n"),
    );
    let img = out.join("e2e-0101.img");
    let r = boot(&[
        "run",
        "--device",
        s(&img),
        "--endpoint",
        "http://127.0.0.1:1",
    ]);
    assert_eq!(
        r.status.code(),
        Some(0),
        "a full triple needs no network: {}",
        text(&r.stderr)
    );
    let mqtts = format!("mqtts://{}", emu.mqtts.as_deref().expect("mqtts"));

    // Without the CA: verification fails (network, 4), nothing logged in.
    let st = boot(&[
        "status",
        "--device",
        s(&img),
        "--check-online",
        "--mqtt",
        &mqtts,
    ]);
    assert_eq!(st.status.code(), Some(4), "{}", text(&st.stderr));
    assert!(
        text(&st.stderr).contains("certificate"),
        "{}",
        text(&st.stderr)
    );
    assert!(!emu.device("e2e-0101").activated);
    // With it: online over TLS (securemode 2).
    let st = boot(&[
        "status",
        "--device",
        s(&img),
        "--check-online",
        "--mqtt",
        &mqtts,
        "--ca-file",
        s(&ca),
    ]);
    assert_eq!(st.status.code(), Some(0), "{}", text(&st.stderr));
    assert!(emu.device("e2e-0101").activated);
    online_while_held(&emu, "e2e-0101", &issued);
    let again = run(&[
        "register",
        PK,
        "e2e-0101",
        PS,
        "--endpoint",
        &emu.url,
        "--ca-file",
        s(&ca),
    ]);
    assert_eq!(again.status.code(), Some(3));
    assert!(text(&again.stderr).contains("6289"));
}

#[test]
fn register_via_mqtt_is_recorded_from_the_recipe() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = products(dir.path(), &["e2e-0201"]);
    let emu = MqttEmulator::start(dir.path(), &p, None, &[]);
    let auth = format!(
        "auth:\n  mode: product-secret\n  product_key: {PK}\n  product_secret: {{ env: TEST_PS }}\n  register_via: mqtt\n"
    );
    let out = build(dir.path(), &auth, "DeviceName\ne2e-0201\n");
    let img = out.join("e2e-0201.img");
    let o = Command::new(BIN)
        .arg("inspect")
        .arg(&img)
        .arg("--json")
        .output()
        .expect("inspect");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["credentials"]["register_via"], "mqtt", "{v}");
    // No --register-via: the record says MQTT (--mqtt only says where).
    let r = boot(&["run", "--device", s(&img), "--mqtt", &emu.mqtt]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
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
            dir.path().join("bad.yaml"),
            format!("disk:\n  size: 8MiB\n  table: gpt\n  seed: 0123456789abcdef0123456789abcdef\npartitions:\n  - name: creds\n    size: 1MiB\n    type: linux\n    credentials: {{}}\n{auth}"),
        )
        .expect("recipe");
        std::fs::write(dir.path().join("bad.csv"), csv).expect("csv");
        let o = Command::new(BIN)
            .arg("check")
            .arg(dir.path().join("bad.yaml"))
            .arg("--devices")
            .arg(dir.path().join("bad.csv"))
            .env("TEST_PS", PS)
            .output()
            .expect("check");
        assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
        assert!(text(&o.stderr).contains("auth.register_via"), "{}", text(&o.stderr));
    }
}
