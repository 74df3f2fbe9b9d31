//! `burnline build` with `auth: { mode: product-secret, register: host }`
//! against the emulator run as a real process on 127.0.0.1: full triples in
//! the images, the ledger, reruns that never ask twice, a refused device
//! that fails alone, a crash right after each ledger append, a damaged
//! ledger or journal line, and one SIGKILL during registration.

mod common;

use common::emulator::{state_secrets, test_ca, write_products, Emulator};
use common::images::inspect_json;
use common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const SECRET_ENV: &str = "TEST_PRODUCT_SECRET";

/// burnline in a fresh temp dir, with the recipes' ProductSecret in its
/// environment.
fn test() -> Test {
    Test::new().env(SECRET_ENV, PS)
}

fn write_recipe(dir: &Path, endpoint: &str, keep_product_secret: bool) -> PathBuf {
    let text = format!(
        "disk: {{size: 4MiB, table: gpt, seed: 0123456789abcdef0123456789abcdef}}\n\
         partitions:\n  - {{name: creds, size: 1MiB, credentials: {{keep_product_secret: {keep_product_secret}}}}}\n  - {{name: data, size: fill}}\n\
         auth: {{mode: product-secret, product_key: {PK}, product_secret: {{env: {SECRET_ENV}}}, register: host, endpoint: \"{endpoint}\"}}\n"
    );
    let path = dir.join("recipe.yaml");
    std::fs::write(&path, text).expect("recipe");
    path
}

fn write_devices(dir: &Path, names: &[&str]) -> PathBuf {
    let mut text = String::from("DeviceName,Nickname\n");
    for n in names {
        text.push_str(&format!("{n},\n"));
    }
    let path = dir.join("devices.csv");
    std::fs::write(&path, text).expect("csv");
    path
}

/// `burnline build RECIPE --devices CSV --out OUT`, in `t`'s directory
/// (with its ProductSecret), to be finished with flags and expectations.
fn build(t: &Test, recipe: &Path, devices: &Path, out: &Path) -> Test {
    t.cmd()
        .args(["build", s(recipe), "--devices", s(devices), "--out", s(out)])
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
fn images(t: &Test, out: &Path) -> BTreeMap<String, (Option<String>, Option<String>)> {
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("manifest.json")).expect("manifest"),
    )
    .expect("json");
    let mut map = BTreeMap::new();
    for e in manifest["devices"].as_array().expect("devices") {
        let file = out.join(e["file"].as_str().expect("file"));
        let v = inspect_json(t, &file, true);
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
    let t = test();
    let d = t.path();
    let names = ["gw-0001", "gw-0002", "gw@0003:x", "gw-0004"];
    let products = write_products(d, &names);
    let state = d.join("state.json");
    let emu = Emulator::start(d, &products, &["--state", s(&state)]);
    let recipe = write_recipe(d, &emu.url, false);
    // gw-0099 is not a device of the product: the platform refuses it.
    let devices = write_devices(
        d,
        &["gw-0001", "gw-0002", "gw-0099", "gw@0003:x", "gw-0004"],
    );
    let out = d.join("out");

    let first = build(&t, &recipe, &devices, &out)
        .status(1)
        .stderr_contains("gw-0099")
        .stderr_contains("6100")
        .output_lacks(PS)
        .run();

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
    let imgs = images(&t, &out);
    assert_eq!(imgs.len(), 4);
    for (dn, (ds, ps)) in &imgs {
        assert_eq!(ds.as_deref(), Some(held[dn].as_str()), "{dn}");
        assert_eq!(ps, &None, "{dn}: ProductSecret kept");
    }
    // No secret in the output nor in the manifest.
    let manifest = std::fs::read_to_string(out.join("manifest.json")).expect("manifest");
    for s in held.values().map(String::as_str).chain([PS]) {
        assert!(!first.text().contains(s), "secret in the output");
        assert!(!manifest.contains(s), "secret in manifest");
    }

    // A rerun asks the platform for nothing it holds, and prints no secret.
    let before: Vec<usize> = names.iter().map(|n| emu.registrations_of(n)).collect();
    assert_eq!(before, vec![1, 1, 1, 1]);
    held.values()
        .fold(build(&t, &recipe, &devices, &out).status(1), |b, s| {
            b.output_lacks(s)
        })
        .output_lacks(PS)
        .run();
    let after: Vec<usize> = names.iter().map(|n| emu.registrations_of(n)).collect();
    assert_eq!(after, before, "a held device was registered again");
    assert_eq!(ledger(&out), held);
    assert_eq!(images(&t, &out), imgs);
}

#[test]
fn keep_product_secret_keeps_it() {
    let t = test();
    let d = t.path();
    let products = write_products(d, &["keep-0001"]);
    let emu = Emulator::start(d, &products, &[]);
    let recipe = write_recipe(d, &emu.url, true);
    let devices = write_devices(d, &["keep-0001"]);
    let out = d.join("out");
    build(&t, &recipe, &devices, &out).output_lacks(PS).run();
    let imgs = images(&t, &out);
    let (ds, ps) = &imgs["keep-0001"];
    assert_eq!(
        ds.as_deref(),
        ledger(&out).get("keep-0001").map(String::as_str)
    );
    assert_eq!(ps.as_deref(), Some(PS));
}

/// After every run, crashed or not: whatever the platform issued is in the
/// ledger, and the ledger holds nothing the platform did not issue.
fn assert_ledger_is_the_platform(out: &Path, state: &Path, when: &str) {
    let issued: BTreeMap<String, String> = state_secrets(state).into_iter().collect();
    assert_eq!(
        ledger(out),
        issued,
        "{when}: the ledger and the platform disagree"
    );
}

/// The end of a crash test: one clean run of `build` finishes; every
/// device was asked for once, its secret is in the ledger and in its image.
fn assert_finished(emu: &Emulator, build: &Test, out: &Path, state: &Path, names: &[String]) {
    build.run();
    assert_ledger_is_the_platform(out, state, "after the last run");
    let held = ledger(out);
    assert_eq!(held.len(), names.len());
    // Registered (activation comes at each device's first MQTT login).
    let registered: Vec<String> = emu
        .devices()
        .into_iter()
        .map(|d| d.0)
        .filter(|dn| emu.registered(dn))
        .collect();
    assert_eq!(registered.len(), names.len());
    for dn in names {
        assert_eq!(emu.registrations_of(dn), 1, "{dn} asked more than once");
    }
    let imgs = images(build, out);
    assert_eq!(imgs.len(), names.len());
    for (dn, (ds, ps)) in imgs {
        assert_eq!(ds.as_deref(), Some(held[&dn].as_str()), "{dn}");
        assert_eq!(ps, None);
    }
}

/// Issue #10, item 4: the build dies (abort) right after each durable
/// append to the registration ledger; each crashed run has registered one
/// more device, and the ledger always agrees with the platform.
#[test]
fn crash_after_each_registration_ledger_append_loses_no_secret() {
    let t = test();
    let d = t.path();
    let names: Vec<String> = (1..=5).map(|i| format!("crash-{i:04}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let products = write_products(d, &refs);
    let state = d.join("state.json");
    let emu = Emulator::start(d, &products, &["--state", s(&state)]);
    let recipe = write_recipe(d, &emu.url, false);
    let devices = write_devices(d, &refs);
    let out = d.join("out");
    let one_job = build(&t, &recipe, &devices, &out).args(["--jobs", "1"]);
    for crashed in 1..=3 {
        // SIGABRT: the crash point fired.
        one_job
            .clone()
            .env("FAILPOINTS", "registration-ledger-after-append=return")
            .signal(6)
            .absent(out.join("manifest.json"))
            .run();
        assert_ledger_is_the_platform(&out, &state, &format!("crash {crashed}"));
        assert_eq!(
            ledger(&out).len(),
            crashed,
            "one more device per crashed run"
        );
    }
    assert_finished(&emu, &one_job, &out, &state, &names);
}

/// One SIGKILL while a registration is in flight (held by the emulator's
/// delay), as a smoke test of a kill at an arbitrary moment.
#[test]
fn sigkill_while_registering_loses_no_secret() {
    let t = test();
    let d = t.path();
    let names: Vec<String> = (1..=4).map(|i| format!("kill-{i:04}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let products = write_products(d, &refs);
    let state = d.join("state.json");
    let emu = Emulator::start(d, &products, &["--state", s(&state), "--delay-ms", "600"]);
    let recipe = write_recipe(d, &emu.url, false);
    let devices = write_devices(d, &refs);
    let out = d.join("out");
    let one_job = build(&t, &recipe, &devices, &out).args(["--jobs", "1"]);
    let mut child = one_job.clone().signal(9).spawn();
    // Killed while the second registration is held.
    let deadline = Instant::now() + Duration::from_secs(60);
    while emu.held() < 2 {
        assert!(
            Instant::now() < deadline,
            "the build never reached registration"
        );
        assert!(!child.has_ended(), "the build ended before the kill");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(100));
    child.kill();
    child.wait();
    // Let the emulator finish with the request the kill cut off.
    std::thread::sleep(Duration::from_millis(700));
    assert_ledger_is_the_platform(&out, &state, "after the kill");
    assert_eq!(ledger(&out).len(), 1);
    assert!(
        emu.log_text().contains("client left during the delay"),
        "the kill did not hit a registration in flight"
    );
    assert_finished(&emu, &one_job, &out, &state, &names);
}

/// Issue #10, item 3: a damaged line in the middle of the registration
/// ledger or of the resume journal stops the build (file:line, exit 2)
/// before anything is registered, and nothing is ever asked twice.
#[test]
fn a_damaged_middle_line_of_the_ledger_or_journal_stops_the_build() {
    let t = test();
    let d = t.path();
    let names: Vec<String> = (1..=4).map(|i| format!("gw-{i:06}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let products = write_products(d, &refs);
    let state = d.join("state.json");
    let emu = Emulator::start(d, &products, &["--state", s(&state)]);
    let recipe = write_recipe(d, &emu.url, false);
    let devices = write_devices(d, &refs);
    let out = d.join("out");
    let plain = build(&t, &recipe, &devices, &out);
    // A run that dies once its batch is journaled: every device registered,
    // built and journaled, no manifest.
    plain
        .clone()
        .env("FAILPOINTS", "build-after-journal=return")
        .signal(6)
        .absent(out.join("manifest.json"))
        .run();
    let (ledger_path, journal_path) = (
        out.join("registrations.jsonl"),
        out.join(".manifest.partial.jsonl"),
    );
    let (held, journal) = (
        std::fs::read_to_string(&ledger_path).expect("ledger"),
        std::fs::read_to_string(&journal_path).expect("journal"),
    );
    assert_eq!(held.lines().count(), 4);
    assert_eq!(journal.lines().count(), 5);
    // The line loses its closing brace (a secret stays in it).
    let damage = |text: &str, line: usize| -> String {
        text.lines()
            .enumerate()
            .map(|(i, l)| {
                if i + 1 == line {
                    format!("{}\n", &l[..l.len() - 1])
                } else {
                    format!("{l}\n")
                }
            })
            .collect()
    };
    for (path, good, line) in [(&journal_path, &journal, 3), (&ledger_path, &held, 2)] {
        let bad = damage(good, line);
        std::fs::write(path, &bad).expect("damage");
        ledger_secrets(&held)
            .iter()
            .fold(plain.clone().status(2), |b, s| b.output_lacks(s))
            .error_line(format!("{}:{line}: ", path.display()))
            .absent(out.join("manifest.json"))
            .run();
        assert_eq!(
            std::fs::read_to_string(path).expect("read"),
            bad,
            "left as it was"
        );
        for dn in &names {
            assert_eq!(emu.registrations_of(dn), 1, "{dn} asked again");
        }
        std::fs::write(path, good).expect("restore");
    }
    assert_finished(&emu, &plain, &out, &state, &names);
}

/// The secrets in ledger text.
fn ledger_secrets(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("line");
            v["device_secret"].as_str().expect("ds").to_owned()
        })
        .collect()
}

#[test]
fn host_registration_over_tls_needs_the_ca() {
    let t = test();
    let d = t.path();
    let products = write_products(d, &["tls-0001"]);
    let (ca, cert, key) = test_ca(d);
    let mut emu = Emulator::start(
        d,
        &products,
        &["--tls-cert", s(&cert), "--tls-key", s(&key)],
    );
    emu.ca = Some(std::fs::read(&ca).expect("ca"));
    let recipe = write_recipe(d, &emu.url, false);
    let devices = write_devices(d, &["tls-0001"]);

    let out = d.join("no-ca");
    build(&t, &recipe, &devices, &out)
        .status(1)
        .stderr_contains("certificate verification failed")
        .run();
    assert!(ledger(&out).is_empty());
    assert!(!emu.registered("tls-0001"));

    let out = d.join("with-ca");
    build(&t, &recipe, &devices, &out)
        .args(["--ca-file", s(&ca)])
        .run();
    let held = ledger(&out);
    let (ds, _) = &images(&t, &out)["tls-0001"];
    assert_eq!(ds.as_deref(), held.get("tls-0001").map(String::as_str));
    assert!(emu.registered("tls-0001"));
}
