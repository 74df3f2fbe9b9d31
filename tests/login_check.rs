//! `burnline login-check RECIPE --devices CSV` against the emulator on
//! 127.0.0.1: every 一机一密 triple logs in once; a wrong secret and an
//! unknown device are one line each and exit 1; the JSON summary; bad input
//! (a 一型一密 recipe, plain TCP to a host that is not loopback) exits 2.

mod common;

use common::emulator::register;
use common::mqtt::MqttEmulator;
use common::*;

const RECIPE: &str = "disk:\n  size: 8MiB\n  table: gpt\n  seed: 0123456789abcdef0123456789abcdef\npartitions:\n  - name: creds\n    size: 1MiB\n    type: linux\n    credentials: {}\n";

/// `burnline login-check r.yaml --devices d.csv`, in `t`'s directory.
fn login_check(t: &Test) -> Test {
    t.cmd()
        .args(["login-check", "r.yaml", "--devices", "d.csv"])
}

#[test]
fn every_triple_logs_in_once_and_failures_are_named() {
    let t = Test::new();
    let dir = t.path();
    let names: Vec<String> = (1..=6).map(|i| format!("lc-{i:04}")).collect();
    let products = dir.join("products.yaml");
    common::emulator::write_private(
        &products,
        &format!(
            "products:\n  - product_key: {PK}\n    product_secret: {PS}\n    devices: [{}]\n",
            names.join(", ")
        ),
    );
    let emu = MqttEmulator::start(dir, &products, None, &[]);
    let mut csv = String::from("DeviceName,DeviceSecret,ProductKey\n");
    for n in &names[..5] {
        let ds = register(&t, &emu.url, n, &[]);
        csv.push_str(&format!("{n},{ds},{PK}\n"));
    }
    std::fs::write(
        dir.join("r.yaml"),
        format!("{RECIPE}auth:\n  mode: device-secret\n  product_key: {PK}\n"),
    )
    .expect("recipe");
    std::fs::write(dir.join("d.csv"), &csv).expect("csv");

    login_check(&t)
        .args(["--mqtt", &emu.mqtt, "--jobs", "3"])
        .stdout("login-check: 5 device(s): 5 accepted, 0 refused, 0 not reached\n")
        .run();
    for n in &names[..5] {
        let d = emu.device(n);
        assert!(d.activated && !d.online, "{d:?}");
    }

    // A secret of another device, and a device the platform does not know.
    let bad = csv.replacen(&format!("{},", names[1]), &format!("{},", names[5]), 1)
        + &format!("lc-9999,{DS1},{PK}\n");
    std::fs::write(dir.join("d.csv"), &bad).expect("csv");
    let o = login_check(&t)
        .args(["--mqtt", &emu.mqtt, "--json"])
        .status(1)
        .error_line("d.csv:3: lc-0006: the platform refused the login: CONNACK 5")
        .error_line("d.csv:7: lc-9999:")
        .stderr_lacks(DS1)
        .run();
    assert_eq!(
        o.stderr
            .lines()
            .filter(|l| l.starts_with("error: "))
            .count(),
        2,
        "{}",
        o.stderr
    );
    let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("json");
    assert_eq!(
        (
            v["devices"].as_u64(),
            v["accepted"].as_u64(),
            v["refused"].as_u64()
        ),
        (Some(6), Some(4), Some(2))
    );
    assert_eq!(v["failed"][0]["connack"], 5);

    // Nothing listens: every device is "not reached", exit 1.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    login_check(&t)
        .args(["--mqtt", &format!("127.0.0.1:{port}")])
        .status(1)
        .stdout_contains("0 accepted, 0 refused, 6 not reached")
        .stderr_contains("connection refused")
        .run();

    // Bad input: plain TCP off loopback, and a 一型一密 recipe.
    login_check(&t)
        .args(["--mqtt", "192.168.1.1:1883"])
        .status(2)
        .stderr_contains("loopback")
        .run();
    std::fs::write(
        dir.join("r.yaml"),
        format!("{RECIPE}auth:\n  mode: product-secret\n  product_key: {PK}\n  product_secret: {{ env: NONE_SET }}\n"),
    )
    .expect("recipe");
    std::fs::write(dir.join("d.csv"), "DeviceName\nlc-0001\n").expect("csv");
    login_check(&t)
        .env("NONE_SET", PS)
        .status(2)
        .stderr_contains("auth.mode")
        .run();
}
