//! `--digest blake3` / `output.digest: blake3`: images listed with BLAKE3 in
//! the manifest and in `B3SUMS`, checked with the real `b3sum` (a missing
//! b3sum fails loudly), verified and merged; station output lists base.img
//! and the deltas in `B3SUMS` too.

mod common;

use common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const EXAMPLE: &str = "recipes/example.yaml";
const DEVICES: &str = "examples/devices.csv";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs burnline from the repository root.
fn burnline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_burnline"))
        .args(args)
        .current_dir(root())
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .expect("run burnline")
}

/// Builds `recipe` for the example devices into `out` with `extra` flags.
fn build(recipe: &str, out: &Path, extra: &[&str]) -> Output {
    let out = out.to_str().expect("utf8");
    let mut args = vec!["build", recipe, "--devices", DEVICES, "--out", out];
    args.extend_from_slice(extra);
    burnline(&args)
}

fn ok(o: &Output, what: &str) {
    assert!(o.status.success(), "{what}: {}", text(o));
}

/// The BLAKE3 of a file, by `b3sum`.
fn b3sum(path: &Path) -> String {
    let o = tool("b3sum", &[path.to_str().expect("utf8")]);
    ok(&o, "b3sum");
    text(&o)
        .split_whitespace()
        .next()
        .expect("b3sum printed a hash")
        .to_owned()
}

/// Runs `b3sum -c B3SUMS` in `dir`; asserts it passes with `n` files.
fn b3sum_check(dir: &Path, n: usize) {
    let o = tool(
        "sh",
        &["-c", &format!("cd '{}' && b3sum -c B3SUMS", dir.display())],
    );
    assert!(o.status.success(), "b3sum -c: {}", text(&o));
    assert_eq!(text(&o).matches(": OK").count(), n, "{}", text(&o));
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(dir.join("manifest.json")).expect("manifest"))
        .expect("manifest json")
}

/// The example recipe in a temp dir (its paths made absolute), with
/// `output:` lines added.
fn example_with_output(dir: &Path, lines: &str) -> PathBuf {
    let text = fs::read_to_string(root().join(EXAMPLE)).expect("example recipe");
    let examples = root().join("examples");
    let text = text
        .replace(
            "../examples/",
            &format!("{}/", examples.to_str().expect("utf8")),
        )
        .replace("\noutput:\n", &format!("\noutput:\n{lines}"));
    assert!(text.contains(lines), "no output: section to extend");
    let p = dir.join("recipe.yaml");
    fs::write(&p, text).expect("write recipe");
    p
}

#[test]
fn blake3_images_pass_b3sum_and_list_no_sha256() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("out");
    ok(&build(EXAMPLE, &out, &["--digest", "blake3"]), "build");
    assert!(!out.join("SHA256SUMS").exists(), "SHA256SUMS written");
    b3sum_check(&out, 4);
    let m = manifest(&out);
    let devices = m["devices"].as_array().expect("devices");
    assert_eq!(devices.len(), 4);
    for e in devices {
        let file = e["file"].as_str().expect("file");
        assert_eq!(e["blake3"], b3sum(&out.join(file)).as_str(), "{file}");
        assert!(e.get("sha256").is_none(), "{file}: has a sha256 field");
    }
    let text = fs::read_to_string(out.join("manifest.json")).expect("manifest");
    let csv = fs::read_to_string(root().join(DEVICES)).expect("csv");
    for secret in csv.lines().skip(1).filter_map(|l| l.split(',').nth(1)) {
        assert!(!text.contains(secret), "a DeviceSecret is in manifest.json");
    }
}

#[test]
fn verify_checks_blake3_and_catches_a_flipped_byte() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("out");
    ok(&build(EXAMPLE, &out, &["--digest", "blake3"]), "build");
    let out_s = out.to_str().expect("utf8");
    ok(&burnline(&["verify", out_s]), "verify");
    let img = out.join("gw-000002.img");
    let f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&img)
        .expect("open");
    let mut b = [0u8; 1];
    std::os::unix::fs::FileExt::read_exact_at(&f, &mut b, 20 << 20).expect("read");
    std::os::unix::fs::FileExt::write_all_at(&f, &[b[0] ^ 1], 20 << 20).expect("write");
    let bad = burnline(&["verify", out_s]);
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad));
    assert!(
        text(&bad).contains("gw-000002.img: blake3 differs from the manifest"),
        "{}",
        text(&bad)
    );
}

#[test]
fn blake3_builds_are_reproducible() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    ok(&build(EXAMPLE, &a, &["--digest", "blake3"]), "build a");
    ok(&build(EXAMPLE, &b, &["--digest", "blake3"]), "build b");
    let mut names: Vec<String> = fs::read_dir(&a)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.iter().any(|n| n == "B3SUMS"), "{names:?}");
    for name in &names {
        let (x, y) = (
            fs::read(a.join(name)).expect("a"),
            fs::read(b.join(name)).expect("b"),
        );
        assert!(x == y, "{name} differs between two runs");
    }
}

#[test]
fn recipe_output_digest_blake3_works_and_the_flag_overrides_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    let recipe = example_with_output(tmp.path(), "  digest: blake3\n");
    let recipe = recipe.to_str().expect("utf8");
    let out = tmp.path().join("out");
    ok(&build(recipe, &out, &[]), "build");
    b3sum_check(&out, 4);
    assert!(!out.join("SHA256SUMS").exists());
    let sha = tmp.path().join("sha");
    ok(
        &build(recipe, &sha, &["--digest", "sha256"]),
        "build sha256",
    );
    assert!(sha.join("SHA256SUMS").exists() && !sha.join("B3SUMS").exists());
    assert!(manifest(&sha)["devices"][0]["sha256"].is_string());
}

#[test]
fn a_bad_output_digest_is_a_field_error() {
    let tmp = tempfile::tempdir().expect("tmp");
    let recipe = example_with_output(tmp.path(), "  digest: md5\n");
    let out = tmp.path().join("out");
    let o = build(recipe.to_str().expect("utf8"), &out, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("output.digest: must be `sha256` or `blake3`, not `md5`"),
        "{}",
        text(&o)
    );
    assert!(!out.exists(), "something was written");
}

#[test]
fn station_output_takes_blake3_from_the_flag_or_the_recipe() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("out");
    ok(
        &build(
            EXAMPLE,
            &out,
            &["--station", "--digest", "blake3", "--bmap"],
        ),
        "build --station --digest blake3",
    );
    assert!(!out.join("SHA256SUMS").exists());
    let m = manifest(&out);
    let n = m["devices"].as_array().expect("devices").len();
    // base.img, its bmap and every delta.
    b3sum_check(&out, n + 2);
    assert_eq!(m["base"]["blake3"], b3sum(&out.join("base.img")).as_str());
    assert!(m["base_bmap"]["blake3"].is_string(), "{m}");
    for e in m["devices"].as_array().expect("devices") {
        assert!(
            e["blake3"].is_string() && e["image_blake3"].is_string(),
            "{e}"
        );
    }
    ok(
        &burnline(&["verify", out.to_str().expect("utf8")]),
        "verify",
    );
    let recipe = example_with_output(tmp.path(), "  mode: station\n  digest: blake3\n");
    let out2 = tmp.path().join("out2");
    ok(&build(recipe.to_str().expect("utf8"), &out2, &[]), "recipe");
    b3sum_check(&out2, n + 1);
    assert_eq!(manifest(&out2)["mode"], "station");
}

#[test]
fn blake3_with_zstd_and_bmap_verifies() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("out");
    let raw = tmp.path().join("raw");
    ok(
        &build(
            EXAMPLE,
            &out,
            &["--digest", "blake3", "--compress", "zstd", "--bmap"],
        ),
        "build",
    );
    ok(&build(EXAMPLE, &raw, &["--digest", "blake3"]), "build raw");
    b3sum_check(&out, 8);
    ok(
        &burnline(&["verify", out.to_str().expect("utf8")]),
        "verify",
    );
    let m = manifest(&out);
    let e = &m["devices"][0];
    assert_eq!(e["file"], "gw-000001.img.zst");
    assert_eq!(e["blake3"], b3sum(&out.join("gw-000001.img.zst")).as_str());
    assert_eq!(
        e["image_blake3"],
        b3sum(&raw.join("gw-000001.img")).as_str()
    );
    assert!(e.get("image_sha256").is_none() && e.get("sha256").is_none());
    assert!(e["extra_files"][0]["blake3"].is_string());
}

#[test]
fn shards_merge_only_with_one_digest() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (s1, s2, s2sha) = (
        tmp.path().join("s1"),
        tmp.path().join("s2"),
        tmp.path().join("s2sha"),
    );
    ok(
        &build(EXAMPLE, &s1, &["--digest", "blake3", "--shard", "1/2"]),
        "shard 1",
    );
    ok(
        &build(EXAMPLE, &s2, &["--digest", "blake3", "--shard", "2/2"]),
        "shard 2",
    );
    ok(
        &build(EXAMPLE, &s2sha, &["--shard", "2/2"]),
        "shard 2 sha256",
    );
    let merged = tmp.path().join("merged");
    let path = |p: &Path| p.to_str().expect("utf8").to_owned();
    ok(
        &burnline(&[
            "manifest",
            "merge",
            &path(&s1),
            &path(&s2),
            "--out",
            &path(&merged),
        ]),
        "merge",
    );
    b3sum_check(&merged, 4);
    let mixed = burnline(&[
        "manifest",
        "merge",
        &path(&s1),
        &path(&s2sha),
        "--out",
        &path(&tmp.path().join("mixed")),
    ]);
    assert_eq!(mixed.status.code(), Some(2), "{}", text(&mixed));
    assert!(
        text(&mixed).contains("lists blake3 checksums but")
            && text(&mixed).contains("the same --digest"),
        "{}",
        text(&mixed)
    );
}

#[test]
fn a_resumed_run_never_mixes_digests() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("out");
    let out_s = out.to_str().expect("utf8");
    let crash = |digest: &str| {
        Command::new(env!("CARGO_BIN_EXE_burnline"))
            .args(["build", EXAMPLE, "--devices", DEVICES, "--out", out_s])
            .args(["--digest", digest])
            .current_dir(root())
            .env_remove("SOURCE_DATE_EPOCH")
            .env("FAILPOINTS", "build-after-journal=return")
            .output()
            .expect("run burnline")
    };
    // Killed with every device journaled as BLAKE3, then rerun as SHA-256:
    // the journal's fingerprint differs, so everything is listed afresh.
    assert!(
        !crash("blake3").status.success(),
        "the failpoint did not fire"
    );
    assert!(out.join(".manifest.partial.jsonl").exists());
    ok(
        &build(EXAMPLE, &out, &["--digest", "sha256"]),
        "rerun sha256",
    );
    let m = manifest(&out);
    for e in m["devices"].as_array().expect("devices") {
        assert!(e["sha256"].is_string() && e.get("blake3").is_none(), "{e}");
    }
    let sums = tool(
        "sh",
        &["-c", &format!("cd '{out_s}' && sha256sum -c SHA256SUMS")],
    );
    assert!(sums.status.success(), "sha256sum -c: {}", text(&sums));
    // And the other way round.
    assert!(
        !crash("sha256").status.success(),
        "the failpoint did not fire"
    );
    ok(
        &build(EXAMPLE, &out, &["--digest", "blake3"]),
        "rerun blake3",
    );
    b3sum_check(&out, 4);
    let m = manifest(&out);
    for e in m["devices"].as_array().expect("devices") {
        assert!(e["blake3"].is_string() && e.get("sha256").is_none(), "{e}");
    }
}
