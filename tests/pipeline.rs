//! The one build pipeline, seen from outside: `flash --recipe` with
//! `register: host` registers through the same per-device job as `build`
//! (secret in the registration ledger before the card is written, the full
//! triple on the card), output directories hold only outputs (the lock is on
//! the directory itself), and the renamed `--no-image-digest` keeps its old
//! name.

mod common;

use common::emulator::{state_secrets, write_products, Emulator};
use common::images::inspect_json;
use common::*;
use std::path::{Path, PathBuf};

const SECRET_ENV: &str = "TEST_PRODUCT_SECRET";

fn host_recipe(dir: &Path, endpoint: &str) -> PathBuf {
    let text = format!(
        "disk: {{size: 4MiB, table: gpt, seed: 0123456789abcdef0123456789abcdef}}\n\
         partitions:\n  - {{name: creds, size: 1MiB, credentials: {{}}}}\n  - {{name: data, size: fill}}\n\
         auth: {{mode: product-secret, product_key: {PK}, product_secret: {{env: {SECRET_ENV}}}, register: host, endpoint: \"{endpoint}\"}}\n"
    );
    let path = dir.join("recipe.yaml");
    std::fs::write(&path, text).expect("recipe");
    path
}

/// burnline in a fresh temp dir, with the recipes' ProductSecret in its
/// environment.
fn test() -> Test {
    Test::new().env(SECRET_ENV, PS)
}

/// The registration ledger's (device name, secret) pairs, in order.
fn ledger_secrets(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .expect("registration ledger")
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("ledger line");
            (
                v["device_name"].as_str().expect("dn").to_owned(),
                v["device_secret"].as_str().expect("ds").to_owned(),
            )
        })
        .collect()
}

#[test]
fn flash_from_a_host_registration_recipe_burns_the_registered_triple() {
    let t = test();
    let d = t.path();
    let products = write_products(d, &["gw-0001", "gw-0002"]);
    let state = d.join("emulator-state.json");
    let emu = Emulator::start(d, &products, &["--state", s(&state)]);
    let recipe = host_recipe(d, &emu.url);
    let csv = d.join("devices.csv");
    std::fs::write(&csv, "DeviceName\ngw-0001\ngw-0002\n").expect("csv");
    let station = d.join("station");
    std::fs::create_dir(&station).expect("mkdir");
    let ledger = station.join("ledger.jsonl");
    let (c1, c2) = (d.join("card1.img"), d.join("card2.img"));
    let flash = t
        .cmd()
        .args(["flash", "--recipe", s(&recipe), "--devices", s(&csv)])
        .args(["--ledger", s(&ledger)]);
    // No ProductSecret in the output.
    let o = flash
        .clone()
        .args(["--target", s(&c1), "--target", s(&c2)])
        .stderr_lacks(PS)
        .run();

    // Each device registered once, and its secret is in the registration
    // ledger next to the station ledger, as the platform issued it.
    assert_eq!(emu.registrations_of("gw-0001"), 1);
    assert_eq!(emu.registrations_of("gw-0002"), 1);
    let issued = state_secrets(&state);
    let recorded = ledger_secrets(&station.join("registrations.jsonl"));
    assert_eq!(recorded.len(), 2);
    for pair in &recorded {
        assert!(
            issued.contains(pair),
            "{pair:?} not what the platform issued"
        );
        assert!(!o.stderr.contains(&pair.1), "no DeviceSecret in the output");
    }

    // Each card carries its device's full triple, without the ProductSecret.
    for (card, dn) in [(&c1, "gw-0001"), (&c2, "gw-0002")] {
        let v = inspect_json(&t, card, true);
        let rec = &v["credentials"];
        let want = recorded.iter().find(|(n, _)| n == dn).expect("recorded");
        assert_eq!(rec["device_name"], dn, "{v}");
        assert_eq!(rec["device_secret"], want.1.as_str(), "{v}");
        assert!(rec["product_secret"].is_null(), "{v}");
    }

    // Every identity is now on a card: a rerun burns nothing and asks the
    // platform nothing.
    let c3 = d.join("card3.img");
    flash
        .args(["--target", s(&c3)])
        .status(2)
        .stderr_contains("already verified")
        .absent(&c3)
        .run();
    assert_eq!(emu.registrations_of("gw-0001"), 1);
}

fn plain_recipe(dir: &Path) -> (PathBuf, PathBuf) {
    let recipe = dir.join("recipe.yaml");
    std::fs::write(
        &recipe,
        format!(
            "disk: {{size: 4MiB, table: gpt, seed: 0123456789abcdef0123456789abcdef}}\n\
             partitions:\n  - {{name: creds, size: 1MiB, credentials: {{}}}}\n  - {{name: data, size: fill}}\n\
             auth: {{mode: device-secret, product_key: {PK}}}\n"
        ),
    )
    .expect("recipe");
    let csv = dir.join("devices.csv");
    std::fs::write(
        &csv,
        "DeviceName,DeviceSecret\ngw-0001,ga7XA6KdlEeiPXQPpRbAjOZXwG8ydgSe\n",
    )
    .expect("csv");
    (recipe, csv)
}

#[test]
fn an_output_directory_holds_only_outputs_and_is_locked_while_in_use() {
    let t = test();
    let d = t.path();
    let (recipe, csv) = plain_recipe(d);
    let out = d.join("out");
    let build = t
        .cmd()
        .args(["build", s(&recipe), "--devices", s(&csv), "--out", s(&out)]);
    build.run();
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["SHA256SUMS", "gw-0001.img", "manifest.json"]);

    // A run held at a crash point keeps the directory locked: a second run
    // into it is refused at once, and writes nothing.
    let first = build
        .clone()
        .env("FAILPOINTS", "build-after-base=sleep(4000)")
        .spawn();
    let refused = build
        .clone()
        .status(2)
        .stderr_contains("is in use by another burnline run");
    let mut waited = 0;
    let second = loop {
        std::thread::sleep(std::time::Duration::from_millis(200));
        waited += 200;
        let o = refused.clone().any_status().run();
        if o.code() != Some(0) || waited > 3000 {
            break o;
        }
    };
    refused.check(&second);
    first.wait();
    assert!(!out.join(".burnline.lock").exists());
}

#[test]
fn no_image_digest_keeps_its_old_name() {
    let t = test();
    let d = t.path();
    let (recipe, csv) = plain_recipe(d);
    let manifests: Vec<serde_json::Value> = ["--no-image-digest", "--no-image-sha256"]
        .iter()
        .map(|flag| {
            let out = d.join(flag.trim_start_matches('-'));
            t.cmd()
                .args(["build", s(&recipe), "--devices", s(&csv), "--out", s(&out)])
                .args(["--deltas", flag])
                .run();
            let m = std::fs::read(out.join("manifest.json")).expect("manifest");
            serde_json::from_slice(&m).expect("manifest json")
        })
        .collect();
    assert_eq!(manifests[0], manifests[1]);
    let entry = &manifests[0]["devices"][0];
    assert!(entry["image_sha256"].is_null(), "{entry}");
    t.cmd()
        .args(["build", "--help"])
        .stdout_contains("--no-image-digest")
        .run();
}
