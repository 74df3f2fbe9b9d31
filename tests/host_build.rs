//! `burnline build` with `auth: { mode: product-secret, register: host }`
//! against the emulator run as a real process on 127.0.0.1: full triples in
//! the images, the ledger, reruns that never ask twice, a refused device
//! that fails alone, and SIGKILL during registration.

mod common;

use common::emulator::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const SECRET_ENV: &str = "TEST_PRODUCT_SECRET";

fn write_recipe(dir: &Path, endpoint: &str, keep_product_secret: bool) -> std::path::PathBuf {
    let text = format!(
        "disk: {{size: 4MiB, table: gpt, seed: 0123456789abcdef0123456789abcdef}}\n\
         partitions:\n  - {{name: creds, size: 1MiB, credentials: {{keep_product_secret: {keep_product_secret}}}}}\n  - {{name: data, size: fill}}\n\
         auth: {{mode: product-secret, product_key: {PK}, product_secret: {{env: {SECRET_ENV}}}, register: host, endpoint: \"{endpoint}\"}}\n"
    );
    let path = dir.join("recipe.yaml");
    std::fs::write(&path, text).expect("recipe");
    path
}

fn write_devices(dir: &Path, names: &[&str]) -> std::path::PathBuf {
    let mut text = String::from("DeviceName,Nickname\n");
    for n in names {
        text.push_str(&format!("{n},\n"));
    }
    let path = dir.join("devices.csv");
    std::fs::write(&path, text).expect("csv");
    path
}

fn build_cmd(recipe: &Path, devices: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.arg("build")
        .arg(recipe)
        .arg("--devices")
        .arg(devices)
        .arg("--out")
        .arg(out)
        .args(extra);
    c.env(SECRET_ENV, PS).stdin(Stdio::null());
    c
}

/// The ledger as device name -> secret (last line wins).
fn ledger(out: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(out.join("registrations.jsonl")).unwrap_or_default();
    let mut map = BTreeMap::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("ledger line");
        assert_eq!(v["product_key"], PK);
        map.insert(
            v["device_name"].as_str().expect("dn").to_owned(),
            v["device_secret"].as_str().expect("ds").to_owned(),
        );
    }
    map
}

/// The credentials of every image listed in the manifest, read back with
/// `inspect --json --reveal-secrets`: name -> (device_secret, product_secret).
fn images(out: &Path) -> BTreeMap<String, (Option<String>, Option<String>)> {
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("manifest.json")).expect("manifest"),
    )
    .expect("json");
    let mut map = BTreeMap::new();
    for e in manifest["devices"].as_array().expect("devices") {
        let file = out.join(e["file"].as_str().expect("file"));
        let o = run(&[
            "inspect",
            file.to_str().expect("utf8"),
            "--json",
            "--reveal-secrets",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("inspect json");
        let c = &v["credentials"];
        assert_eq!(c["product_key"], PK);
        map.insert(
            c["device_name"].as_str().expect("dn").to_owned(),
            (
                c["device_secret"].as_str().map(str::to_owned),
                c["product_secret"].as_str().map(str::to_owned),
            ),
        );
    }
    map
}

#[test]
fn host_registration_embeds_triples_and_reruns_from_the_ledger() {
    let dir = tempfile::tempdir().expect("tempdir");
    let names = ["gw-0001", "gw-0002", "gw@0003:x", "gw-0004"];
    let products = write_products(dir.path(), &names);
    let state = dir.path().join("state.json");
    let emu = Emulator::start(
        dir.path(),
        &products,
        &["--state", state.to_str().expect("utf8")],
    );
    let recipe = write_recipe(dir.path(), &emu.url, false);
    // gw-0099 is not a device of the product: the platform refuses it.
    let devices = write_devices(
        dir.path(),
        &["gw-0001", "gw-0002", "gw-0099", "gw@0003:x", "gw-0004"],
    );
    let out = dir.path().join("out");

    let first = build_cmd(&recipe, &devices, &out, &[])
        .output()
        .expect("build");
    assert_eq!(first.status.code(), Some(1), "{}", text(&first.stderr));
    let err = text(&first.stderr);
    assert!(err.contains("gw-0099") && err.contains("6100"), "{err}");

    let held = ledger(&out);
    assert_eq!(
        held.keys().map(String::as_str).collect::<Vec<_>>(),
        vec!["gw-0001", "gw-0002", "gw-0004", "gw@0003:x"]
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(out.join("registrations.jsonl"))
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // The platform's secrets are the ledger's.
    let issued: BTreeMap<String, String> = state_secrets(&state).into_iter().collect();
    assert_eq!(issued, held);
    // The images hold the full triple and no ProductSecret.
    let imgs = images(&out);
    assert_eq!(imgs.len(), 4);
    for (dn, (ds, ps)) in &imgs {
        assert_eq!(ds.as_deref(), Some(held[dn].as_str()), "{dn}");
        assert_eq!(ps, &None, "{dn}: ProductSecret kept");
    }
    // No secret on stderr nor in the manifest.
    let manifest = std::fs::read_to_string(out.join("manifest.json")).expect("manifest");
    for s in held.values().map(String::as_str).chain([PS]) {
        assert!(!err.contains(s), "secret on stderr");
        assert!(!manifest.contains(s), "secret in manifest");
    }

    // A rerun asks the platform for nothing it holds.
    let before: Vec<usize> = names.iter().map(|n| emu.registrations_of(n)).collect();
    assert_eq!(before, vec![1, 1, 1, 1]);
    let second = build_cmd(&recipe, &devices, &out, &[])
        .output()
        .expect("build");
    assert_eq!(second.status.code(), Some(1), "{}", text(&second.stderr));
    let after: Vec<usize> = names.iter().map(|n| emu.registrations_of(n)).collect();
    assert_eq!(after, before, "a held device was registered again");
    assert_eq!(ledger(&out), held);
    assert_eq!(images(&out), imgs);
    for s in held.values() {
        assert!(!text(&second.stderr).contains(s.as_str()));
    }
}

#[test]
fn keep_product_secret_keeps_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let products = write_products(dir.path(), &["keep-0001"]);
    let emu = Emulator::start(dir.path(), &products, &[]);
    let recipe = write_recipe(dir.path(), &emu.url, true);
    let devices = write_devices(dir.path(), &["keep-0001"]);
    let out = dir.path().join("out");
    let o = build_cmd(&recipe, &devices, &out, &[])
        .output()
        .expect("build");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let imgs = images(&out);
    let (ds, ps) = &imgs["keep-0001"];
    assert_eq!(
        ds.as_deref(),
        ledger(&out).get("keep-0001").map(String::as_str)
    );
    assert_eq!(ps.as_deref(), Some(PS));
}

#[test]
fn sigkill_while_registering_loses_no_secret() {
    let dir = tempfile::tempdir().expect("tempdir");
    let names: Vec<String> = (1..=16).map(|i| format!("kill-{i:04}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let products = write_products(dir.path(), &refs);
    let state = dir.path().join("state.json");
    // Each registration is held 600 ms before the platform sees it; the
    // build registers one device at a time (--jobs 1). Each kill is timed
    // from the moment the emulator starts holding a request, so that it
    // lands while that request is in flight (varied offsets, and after 1 to
    // 3 requests of the run).
    let emu = Emulator::start(
        dir.path(),
        &products,
        &[
            "--state",
            state.to_str().expect("utf8"),
            "--delay-ms",
            "600",
        ],
    );
    let recipe = write_recipe(dir.path(), &emu.url, false);
    let devices = write_devices(dir.path(), &refs);
    let out = dir.path().join("out");

    for (i, offset_ms) in [0u64, 240, 60, 180, 120].into_iter().enumerate() {
        let base = emu.held();
        let mut child = build_cmd(&recipe, &devices, &out, &["--jobs", "1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn build");
        let want = base + 1 + i % 3;
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while emu.held() < want {
            assert!(
                std::time::Instant::now() < deadline,
                "the build never reached registration"
            );
            assert!(
                child.try_wait().expect("try_wait").is_none(),
                "the build ended before the kill"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(offset_ms));
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        // Let the emulator finish with the request the kill cut off.
        std::thread::sleep(Duration::from_millis(700));
        // After every kill: whatever the platform issued is in the ledger.
        let held = ledger(&out);
        for (dn, ds) in state_secrets(&state) {
            assert_eq!(
                held.get(&dn),
                Some(&ds),
                "{dn} was activated but its secret is not in the ledger"
            );
        }
    }
    let killed_with = ledger(&out).len();

    let last = build_cmd(&recipe, &devices, &out, &[])
        .output()
        .expect("build");
    assert_eq!(last.status.code(), Some(0), "{}", text(&last.stderr));
    let held = ledger(&out);
    let issued: BTreeMap<String, String> = state_secrets(&state).into_iter().collect();
    assert_eq!(held, issued);
    assert_eq!(held.len(), names.len());
    // Registered (activation comes at each device's first MQTT login).
    let registered: Vec<String> = emu
        .devices()
        .into_iter()
        .map(|d| d.0)
        .filter(|dn| emu.registered(dn))
        .collect();
    assert_eq!(registered.len(), names.len());
    for dn in &registered {
        assert!(held.contains_key(dn));
        assert_eq!(emu.registrations_of(dn), 1, "{dn} asked more than once");
    }
    let imgs = images(&out);
    assert_eq!(imgs.len(), names.len());
    for (dn, (ds, ps)) in imgs {
        assert_eq!(ds.as_deref(), Some(held[&dn].as_str()));
        assert_eq!(ps, None);
    }
    // The kills really hit registrations in flight (else this test proves
    // nothing): the emulator saw clients leave during its delay.
    assert!(
        killed_with < names.len(),
        "every device was registered before the last kill"
    );
    assert!(
        emu.log_text().contains("client left during the delay"),
        "no kill hit a registration in flight"
    );
}

#[test]
fn host_registration_over_tls_needs_the_ca() {
    let dir = tempfile::tempdir().expect("tempdir");
    let products = write_products(dir.path(), &["tls-0001"]);
    let (ca, cert, key) = test_ca(dir.path());
    let (cert, key) = (cert.to_str().expect("utf8"), key.to_str().expect("utf8"));
    let mut emu = Emulator::start(
        dir.path(),
        &products,
        &["--tls-cert", cert, "--tls-key", key],
    );
    emu.ca = Some(std::fs::read(&ca).expect("ca"));
    let recipe = write_recipe(dir.path(), &emu.url, false);
    let devices = write_devices(dir.path(), &["tls-0001"]);

    let out = dir.path().join("no-ca");
    let o = build_cmd(&recipe, &devices, &out, &[])
        .output()
        .expect("build");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("certificate verification failed"),
        "{}",
        text(&o.stderr)
    );
    assert!(ledger(&out).is_empty());
    assert!(!emu.registered("tls-0001"));

    let out = dir.path().join("with-ca");
    let o = build_cmd(
        &recipe,
        &devices,
        &out,
        &["--ca-file", ca.to_str().expect("utf8")],
    )
    .output()
    .expect("build");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let held = ledger(&out);
    let (ds, _) = &images(&out)["tls-0001"];
    assert_eq!(ds.as_deref(), held.get("tls-0001").map(String::as_str));
    assert!(emu.registered("tls-0001"));
}
