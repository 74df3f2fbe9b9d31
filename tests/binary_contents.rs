//! What the production binary is built from, and the emulator beside it.
//! The platform emulator is its own crate and binary
//! (`crates/burnline-emulator`): `cargo tree` of `burnline` names no
//! OpenSSL, and the MQTT codec only through `burnline-core` (the client of
//! `register --mqtt` and `login-check`, shared with the device side), never
//! as the emulator's MQTT server; and the binary links no libssl. An HTTP
//! server (axum on hyper) is in the tree for one reason only: the station's
//! operator page, which `burnline station serve` runs on a programmer
//! station, so hyper and axum reach burnline through `burnline-station`
//! alone. `burnline emulator` starts `burnline-emulator` from its own
//! directory, or says where it looked.

mod common;

use common::*;
use std::path::PathBuf;
use std::time::Duration;

/// `cargo tree -p burnline -e normal --prefix none EXTRA...` (offline, from
/// the committed Cargo.lock): one line per package.
fn tree(extra: &[&str]) -> Vec<String> {
    let o = Test::new()
        .program(PathBuf::from(env!("CARGO")))
        .args(["tree", "-p", "burnline", "-e", "normal", "--prefix", "none"])
        .args(["--locked", "--offline", "--manifest-path"])
        .arg(repo_root().join("Cargo.toml"))
        .args(extra)
        .run();
    o.stdout.lines().map(str::to_owned).collect()
}

/// The crate name of a `cargo tree` line (`openssl v0.10.75` → `openssl`).
fn name(line: &str) -> &str {
    line.split(' ').next().unwrap_or_default()
}

#[test]
fn the_production_binary_carries_no_openssl_and_no_mqtt_server() {
    let all = tree(&[]);
    assert!(
        all.iter().any(|l| name(l) == "burnline-core"),
        "not a tree of burnline: {all:?}"
    );
    for gone in [
        "openssl",
        "openssl-sys",
        "tokio-openssl",
        "burnline-emulator",
    ] {
        assert!(
            !all.iter().any(|l| name(l) == gone),
            "{gone} is in burnline's tree"
        );
    }
    // The MQTT codec reaches burnline through burnline-core's client only:
    // inverted, its one dependent in burnline's tree is burnline-core.
    let users = tree(&["-i", "mqttbytes-ng", "--depth", "1"]);
    let users: Vec<&str> = users.iter().skip(1).map(|l| name(l)).collect();
    assert_eq!(users, ["burnline-core"], "what pulls in mqttbytes-ng");
    // The HTTP server is the station page's: only burnline-station pulls
    // in axum, and hyper only it, axum and hyper-util do.
    let users = tree(&["-i", "axum", "--depth", "1"]);
    let users: Vec<&str> = users.iter().skip(1).map(|l| name(l)).collect();
    assert_eq!(users, ["burnline-station"], "what pulls in axum");
    let users = tree(&["-i", "hyper", "--depth", "1"]);
    let mut users: Vec<&str> = users.iter().skip(1).map(|l| name(l)).collect();
    users.sort_unstable();
    users.dedup();
    assert!(
        users == ["axum", "burnline-station", "hyper-util"],
        "what pulls in hyper: {users:?}"
    );
}

#[test]
fn the_production_binary_links_no_libssl() {
    Test::new()
        .tool("ldd")
        .arg(burnline_bin())
        .stdout_contains("libc.so")
        .output_lacks("libssl")
        .output_lacks("libcrypto")
        .run();
}

#[test]
fn the_emulator_binary_runs_and_burnline_emulator_launches_it() {
    let t = Test::new();
    t.emulator()
        .arg("--help")
        .stdout_contains("Usage: burnline-emulator")
        .stdout_contains("--products")
        .stdout_contains("--mqtts")
        .run();
    // The launcher hands `--help` on: the same text.
    t.burnline()
        .args(["emulator", "--help"])
        .stdout_contains("Usage: burnline-emulator")
        .run();
    // And its exit status: a port in use is an I/O failure, exit 3.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let at = taken.local_addr().expect("its address").to_string();
    let products = t.path().join("products.yaml");
    common::emulator::write_private(
        &products,
        &format!(
            "products:\n  - product_key: {PK}\n    product_secret: {PS}\n    devices: [gw-1]\n"
        ),
    );
    t.burnline()
        .args(["emulator", "--listen", &at, "--products", s(&products)])
        .status(3)
        .stderr_contains(format!("burnline-emulator: listening on {at}"))
        .output_lacks(PS)
        .run_within(Duration::from_secs(30));
}

#[test]
fn burnline_emulator_without_the_emulator_binary_says_where_it_looked() {
    let t = Test::new();
    // A `burnline` alone in a directory (a hard link where the file system
    // allows it, else a copy).
    let alone = t.path().join("bin");
    std::fs::create_dir(&alone).expect("bin dir");
    let bin = alone.join("burnline");
    if std::fs::hard_link(burnline_bin(), &bin).is_err() {
        std::fs::copy(burnline_bin(), &bin).expect("copy burnline");
    }
    let o = t
        .cmd()
        .program(&bin)
        .args(["emulator", "--products", "p.yaml"])
        .status(2)
        .stderr_contains(format!(
            "{}: not found",
            alone.join("burnline-emulator").display()
        ))
        .stderr_contains("cargo install --locked --path crates/burnline-emulator")
        .run();
    assert_eq!(o.stderr.lines().count(), 1, "one line: {}", o.stderr);
}
