//! `burnline login-check RECIPE --devices CSV` against the emulator on
//! 127.0.0.1: every 一机一密 triple logs in once; a wrong secret and an
//! unknown device are one line each and exit 1; the JSON summary; bad input
//! (a 一型一密 recipe, plain TCP to a host that is not loopback) exits 2.

mod common;

use common::emulator::{run, text, BIN, PK, PS};
use common::mqtt::MqttEmulator;
use std::process::Command;

const RECIPE: &str = "disk:\n  size: 8MiB\n  table: gpt\n  seed: 0123456789abcdef0123456789abcdef\npartitions:\n  - name: creds\n    size: 1MiB\n    type: linux\n    credentials: {}\n";

fn login_check(dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .arg("login-check")
        .arg(dir.join("r.yaml"))
        .arg("--devices")
        .arg(dir.join("d.csv"))
        .args(extra)
        .output()
        .expect("login-check")
}

#[test]
fn every_triple_logs_in_once_and_failures_are_named() {
    let dir = tempfile::tempdir().expect("tmp");
    let names: Vec<String> = (1..=6).map(|i| format!("lc-{i:04}")).collect();
    let products = dir.path().join("products.yaml");
    std::fs::write(
        &products,
        format!(
            "products:\n  - product_key: {PK}\n    product_secret: {PS}\n    devices: [{}]\n",
            names.join(", ")
        ),
    )
    .expect("products");
    let emu = MqttEmulator::start(dir.path(), &products, None, &[]);
    let mut csv = String::from("DeviceName,DeviceSecret,ProductKey\n");
    for n in &names[..5] {
        let o = run(&["register", PK, n, PS, "--endpoint", &emu.url]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let ds = text(&o.stdout)
            .trim_end()
            .rsplit(' ')
            .next()
            .expect("ds")
            .to_owned();
        csv.push_str(&format!("{n},{ds},{PK}\n"));
    }
    std::fs::write(
        dir.path().join("r.yaml"),
        format!("{RECIPE}auth:\n  mode: device-secret\n  product_key: {PK}\n"),
    )
    .expect("recipe");
    std::fs::write(dir.path().join("d.csv"), &csv).expect("csv");

    let o = login_check(dir.path(), &["--mqtt", &emu.mqtt, "--jobs", "3"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(
        text(&o.stdout),
        "login-check: 5 device(s): 5 accepted, 0 refused, 0 not reached\n"
    );
    for n in &names[..5] {
        let d = emu.device(n);
        assert!(d.activated && !d.online, "{d:?}");
    }

    // A secret of another device, and a device the platform does not know.
    let bad = csv.replacen(&format!("{},", names[1]), &format!("{},", names[5]), 1)
        + &format!("lc-9999,{},{PK}\n", "ga7XA6KdlEeiPXQPpRbAjOZXwG8ydgSe");
    std::fs::write(dir.path().join("d.csv"), &bad).expect("csv");
    let o = login_check(dir.path(), &["--mqtt", &emu.mqtt, "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(
        err.contains("d.csv:3: lc-0006: the platform refused the login: CONNACK 5"),
        "{err}"
    );
    assert!(err.contains("d.csv:7: lc-9999:"), "{err}");
    assert_eq!(
        err.lines().filter(|l| l.starts_with("error: ")).count(),
        2,
        "{err}"
    );
    assert!(
        !err.contains("ga7XA6KdlEeiPXQPpRbAjOZXwG8ydgSe"),
        "a secret in an error"
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
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
    let o = login_check(dir.path(), &["--mqtt", &format!("127.0.0.1:{port}")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stdout).contains("0 accepted, 0 refused, 6 not reached"),
        "{}",
        text(&o.stdout)
    );
    assert!(
        text(&o.stderr).contains("connection refused"),
        "{}",
        text(&o.stderr)
    );

    // Bad input: plain TCP off loopback, and a 一型一密 recipe.
    let o = login_check(dir.path(), &["--mqtt", "192.168.1.1:1883"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("loopback"));
    std::fs::write(
        dir.path().join("r.yaml"),
        format!("{RECIPE}auth:\n  mode: product-secret\n  product_key: {PK}\n  product_secret: {{ env: NONE_SET }}\n"),
    )
    .expect("recipe");
    std::fs::write(dir.path().join("d.csv"), "DeviceName\nlc-0001\n").expect("csv");
    let o = Command::new(BIN)
        .arg("login-check")
        .arg(dir.path().join("r.yaml"))
        .arg("--devices")
        .arg(dir.path().join("d.csv"))
        .env("NONE_SET", PS)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("auth.mode"), "{}", text(&o.stderr));
}
