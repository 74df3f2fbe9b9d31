//! The README's "Quickstart: 一机一密 to online" and "Quickstart: 一型一密
//! to online", run as written: each command block (in the first section the
//! second one; the first builds the release binaries and puts them on PATH,
//! which the test does with the debug ones) runs in an empty directory with
//! bash, and every example device must log in and be listed activated.
//! Also the products file's rule: it holds secrets, so one its group or
//! others may read is refused.
//! The emulator it starts is the one docs/emulator.md shows ("Running it").

mod common;

use common::*;
use std::time::Duration;

/// The fenced blocks of a README section (its heading line), in order.
fn quickstart_blocks(section: &str) -> Vec<String> {
    common::markdown::section_blocks("README.md", section)
        .into_iter()
        .map(|b| b.text)
        .collect()
}

/// The README's sequences listen on fixed ports (18080, 11883): one at a
/// time.
static PORTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `block` with bash in an empty directory, with the debug binaries
/// first on PATH and `REPO` the repository, as the README's setup block
/// makes them; the emulator it starts in the background is ended even when
/// one of its commands fails.
fn run_block(block: &str) -> Outcome {
    let _ports = PORTS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let bin = burnline_bin();
    let bin_dir = bin.parent().expect("the binaries' directory");
    assert!(bootstrap_bin().starts_with(bin_dir));
    assert!(emulator_bin().starts_with(bin_dir));
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let t = Test::new();
    let script = format!("trap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n{block}");
    t.tool("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .env("PATH", &path)
        .env("REPO", repo_root())
        .run_within(Duration::from_secs(120))
}

#[test]
fn the_readme_quickstart_brings_every_example_device_online() {
    let blocks = quickstart_blocks("## Quickstart: 一机一密 to online");
    assert_eq!(
        blocks.len(),
        2,
        "the section has its setup and its sequence"
    );
    assert!(blocks[0].contains("export PATH=$PWD/target/release:$PATH REPO=$PWD"));
    let o = run_block(&blocks[1]);

    let csv = std::fs::read_to_string(repo_root().join("examples/devices.csv")).expect("csv");
    let names: Vec<&str> = csv
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .collect();
    assert_eq!(names.len(), 4, "{csv}");
    assert!(
        o.stdout
            .contains("login-check: 4 device(s): 4 accepted, 0 refused, 0 not reached"),
        "{}{}",
        o.stdout,
        o.stderr
    );
    assert_eq!(
        o.stdout
            .matches("online: the platform accepted the MQTT login at mqtt://127.0.0.1:11883")
            .count(),
        4,
        "{}",
        o.stdout
    );
    let listing = o
        .stdout
        .lines()
        .find(|l| l.starts_with('['))
        .expect("the console's listing");
    let devices: Vec<serde_json::Value> = serde_json::from_str(listing).expect("json");
    for n in &names {
        assert!(
            o.stdout.contains(&format!("device_name: {n}\n")),
            "{n}: {}",
            o.stdout
        );
        let d = devices
            .iter()
            .find(|d| d["device_name"] == *n)
            .unwrap_or_else(|| panic!("{n} listed: {listing}"));
        assert_eq!(d["activated"], true, "{d}");
    }
    // The secrets stay out of everything the sequence printed.
    for secret in csv.lines().skip(1).filter_map(|l| l.split(',').nth(1)) {
        assert!(!o.text().contains(secret), "a DeviceSecret was printed");
    }
}

#[test]
fn the_readme_product_secret_quickstart_brings_every_template_device_online() {
    let blocks = quickstart_blocks("## Quickstart: 一型一密 to online");
    assert_eq!(blocks.len(), 1, "the section has its sequence");
    let o = run_block(&blocks[0]);

    let csv =
        std::fs::read_to_string(repo_root().join("examples/devices-template.csv")).expect("csv");
    let names: Vec<&str> = csv
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .collect();
    assert_eq!(names.len(), 2, "{csv}");
    assert_eq!(
        o.stdout
            .matches("online: the platform accepted the MQTT login at mqtt://127.0.0.1:11883")
            .count(),
        names.len(),
        "{}{}",
        o.stdout,
        o.stderr
    );
    let listing = o
        .stdout
        .lines()
        .find(|l| l.starts_with('['))
        .expect("the console's listing");
    let devices: Vec<serde_json::Value> = serde_json::from_str(listing).expect("json");
    for n in &names {
        let d = devices
            .iter()
            .find(|d| d["device_name"] == *n)
            .unwrap_or_else(|| panic!("{n} listed: {listing}"));
        assert_eq!(d["activated"], true, "{d}");
        assert_eq!(d["secrets_issued"], 1, "registered exactly once: {d}");
    }
    // The ProductSecret stays out of everything the sequence printed.
    assert!(!o.text().contains(PS), "the ProductSecret was printed");
}

#[test]
fn a_products_file_others_may_read_is_refused() {
    let t = Test::new();
    let products = t.path().join("products.yaml");
    std::fs::copy(
        repo_root().join("examples/quickstart-products.yaml"),
        &products,
    )
    .expect("copy");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&products, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    t.emulator()
        .args(["--listen", "127.0.0.1:0", "--products", s(&products)])
        .status(2)
        .error_line("products.yaml: the products file holds secrets and is readable by its group or others (mode 644); chmod 600 it")
        .output_lacks("ga7XA6KdlEeiPXQPpRbAjOZXwG8ydgSe")
        .output_lacks("7jluWm1zql7bt8qK")
        .run_within(Duration::from_secs(30));
}

#[test]
fn a_device_with_an_empty_secret_is_refused_by_its_field() {
    let t = Test::new();
    let products = t.path().join("products.yaml");
    common::emulator::write_private(
        &products,
        &format!("products:\n  - product_key: {PK}\n    product_secret: {PS}\n    devices: [ok-1, {{device_name: ds-1, device_secret: \"\"}}]\n"),
    );
    t.emulator()
        .args(["--listen", "127.0.0.1:0", "--products", s(&products)])
        .status(2)
        .error_line("products[0].devices[1]: device_name and device_secret must not be empty")
        .output_lacks(PS)
        .run_within(Duration::from_secs(30));
}
