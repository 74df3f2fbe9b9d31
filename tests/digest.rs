//! `--digest blake3` / `output.digest: blake3`: images listed with BLAKE3 in
//! the manifest and in `B3SUMS`, checked with the real `b3sum` (a missing
//! b3sum fails loudly), verified and merged; a delta set lists base.img
//! and the deltas in `B3SUMS` too.

mod common;

use common::images::b3sum;
use common::*;
use std::fs;
use std::path::{Path, PathBuf};

const EXAMPLE: &str = "recipes/example.yaml";
const DEVICES: &str = "examples/devices.csv";

/// burnline run from the repository root, where the example's paths hold.
fn at_root(t: &Test) -> Test {
    t.cmd().current_dir(repo_root())
}

/// Builds `recipe` for the example devices into `out` with `extra` flags.
fn build(t: &Test, recipe: &str, out: &Path, extra: &[&str]) -> Test {
    at_root(t)
        .args(["build", recipe, "--devices", DEVICES, "--out", s(out)])
        .args(extra)
}

/// `burnline verify DIR`.
fn verify(t: &Test, dir: &Path) -> Test {
    at_root(t).args(["verify", s(dir)])
}

/// Runs `b3sum -c B3SUMS` in `dir`; asserts it passes with `n` files.
fn b3sum_check(t: &Test, dir: &Path, n: usize) {
    t.tool("b3sum")
        .args(["-c", "B3SUMS"])
        .current_dir(dir)
        .stdout_count(": OK", n)
        .run();
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(dir.join("manifest.json")).expect("manifest"))
        .expect("manifest json")
}

/// The example recipe in a temp dir (its paths made absolute), with
/// `output:` lines added.
fn example_with_output(dir: &Path, lines: &str) -> PathBuf {
    let text = fs::read_to_string(repo_root().join(EXAMPLE)).expect("example recipe");
    let examples = repo_root().join("examples");
    let text = text
        .replace("../examples/", &format!("{}/", s(&examples)))
        .replace("\noutput:\n", &format!("\noutput:\n{lines}"));
    assert!(text.contains(lines), "no output: section to extend");
    let p = dir.join("recipe.yaml");
    fs::write(&p, text).expect("write recipe");
    p
}

#[test]
fn blake3_images_pass_b3sum_and_list_no_sha256() {
    let t = Test::new();
    let out = t.path().join("out");
    build(&t, EXAMPLE, &out, &["--digest", "blake3"]).run();
    assert!(!out.join("SHA256SUMS").exists(), "SHA256SUMS written");
    b3sum_check(&t, &out, 4);
    let m = manifest(&out);
    let devices = m["devices"].as_array().expect("devices");
    assert_eq!(devices.len(), 4);
    for e in devices {
        let file = e["file"].as_str().expect("file");
        assert_eq!(e["blake3"], b3sum(&t, &out.join(file)).as_str(), "{file}");
        assert!(e.get("sha256").is_none(), "{file}: has a sha256 field");
    }
    let text = fs::read_to_string(out.join("manifest.json")).expect("manifest");
    let csv = fs::read_to_string(repo_root().join(DEVICES)).expect("csv");
    for secret in csv.lines().skip(1).filter_map(|l| l.split(',').nth(1)) {
        assert!(!text.contains(secret), "a DeviceSecret is in manifest.json");
    }
}

#[test]
fn verify_checks_blake3_and_catches_a_flipped_byte() {
    let t = Test::new();
    let out = t.path().join("out");
    build(&t, EXAMPLE, &out, &["--digest", "blake3"]).run();
    verify(&t, &out).run();
    let img = out.join("gw-000002.img");
    let f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&img)
        .expect("open");
    let mut b = [0u8; 1];
    std::os::unix::fs::FileExt::read_exact_at(&f, &mut b, 20 << 20).expect("read");
    std::os::unix::fs::FileExt::write_all_at(&f, &[b[0] ^ 1], 20 << 20).expect("write");
    verify(&t, &out)
        .status(1)
        .output_contains("gw-000002.img: blake3 differs from the manifest")
        .run();
}

#[test]
fn blake3_builds_are_reproducible() {
    let t = Test::new();
    let (a, b) = (t.path().join("a"), t.path().join("b"));
    build(&t, EXAMPLE, &a, &["--digest", "blake3"]).run();
    build(&t, EXAMPLE, &b, &["--digest", "blake3"]).run();
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
    let t = Test::new();
    let recipe = example_with_output(t.path(), "  digest: blake3\n");
    let recipe = s(&recipe);
    let out = t.path().join("out");
    build(&t, recipe, &out, &[]).run();
    b3sum_check(&t, &out, 4);
    assert!(!out.join("SHA256SUMS").exists());
    let sha = t.path().join("sha");
    build(&t, recipe, &sha, &["--digest", "sha256"]).run();
    assert!(sha.join("SHA256SUMS").exists() && !sha.join("B3SUMS").exists());
    assert!(manifest(&sha)["devices"][0]["sha256"].is_string());
}

#[test]
fn a_bad_output_digest_is_a_field_error() {
    let t = Test::new();
    let recipe = example_with_output(t.path(), "  digest: md5\n");
    let out = t.path().join("out");
    build(&t, s(&recipe), &out, &[])
        .status(2)
        .output_contains("output.digest: must be `sha256` or `blake3`, not `md5`")
        .absent(&out)
        .run();
}

#[test]
fn station_output_takes_blake3_from_the_flag_or_the_recipe() {
    let t = Test::new();
    let out = t.path().join("out");
    build(
        &t,
        EXAMPLE,
        &out,
        &["--deltas", "--digest", "blake3", "--bmap"],
    )
    .run();
    assert!(!out.join("SHA256SUMS").exists());
    let m = manifest(&out);
    let n = m["devices"].as_array().expect("devices").len();
    // base.img, its bmap and every delta.
    b3sum_check(&t, &out, n + 2);
    assert_eq!(
        m["base"]["blake3"],
        b3sum(&t, &out.join("base.img")).as_str()
    );
    assert!(m["base_bmap"]["blake3"].is_string(), "{m}");
    for e in m["devices"].as_array().expect("devices") {
        assert!(
            e["blake3"].is_string() && e["image_blake3"].is_string(),
            "{e}"
        );
    }
    verify(&t, &out).run();
    let recipe = example_with_output(t.path(), "  mode: deltas\n  digest: blake3\n");
    let out2 = t.path().join("out2");
    build(&t, s(&recipe), &out2, &[]).run();
    b3sum_check(&t, &out2, n + 1);
    assert_eq!(manifest(&out2)["mode"], "station");
}

#[test]
fn blake3_with_zstd_and_bmap_verifies() {
    let t = Test::new();
    let out = t.path().join("out");
    let raw = t.path().join("raw");
    build(
        &t,
        EXAMPLE,
        &out,
        &["--digest", "blake3", "--compress", "zstd", "--bmap"],
    )
    .run();
    build(&t, EXAMPLE, &raw, &["--digest", "blake3"]).run();
    b3sum_check(&t, &out, 8);
    verify(&t, &out).run();
    let m = manifest(&out);
    let e = &m["devices"][0];
    assert_eq!(e["file"], "gw-000001.img.zst");
    assert_eq!(
        e["blake3"],
        b3sum(&t, &out.join("gw-000001.img.zst")).as_str()
    );
    assert_eq!(
        e["image_blake3"],
        b3sum(&t, &raw.join("gw-000001.img")).as_str()
    );
    assert!(e.get("image_sha256").is_none() && e.get("sha256").is_none());
    assert!(e["extra_files"][0]["blake3"].is_string());
}

#[test]
fn shards_merge_only_with_one_digest() {
    let t = Test::new();
    let (s1, s2, s2sha) = (
        t.path().join("s1"),
        t.path().join("s2"),
        t.path().join("s2sha"),
    );
    build(&t, EXAMPLE, &s1, &["--digest", "blake3", "--shard", "1/2"]).run();
    build(&t, EXAMPLE, &s2, &["--digest", "blake3", "--shard", "2/2"]).run();
    build(&t, EXAMPLE, &s2sha, &["--shard", "2/2"]).run();
    let merged = t.path().join("merged");
    at_root(&t)
        .args(["manifest", "merge", s(&s1), s(&s2), "--out", s(&merged)])
        .run();
    b3sum_check(&t, &merged, 4);
    at_root(&t)
        .args(["manifest", "merge", s(&s1), s(&s2sha)])
        .args(["--out", s(&t.path().join("mixed"))])
        .status(2)
        .output_contains("lists blake3 checksums but")
        .output_contains("the same --digest")
        .run();
}

#[test]
fn a_resumed_run_never_mixes_digests() {
    let t = Test::new();
    let out = t.path().join("out");
    // Killed with every device journaled, by a failpoint.
    let crash = |digest: &str| {
        build(&t, EXAMPLE, &out, &["--digest", digest])
            .env("FAILPOINTS", "build-after-journal=return")
            .fails()
            .run();
    };
    // Killed with every device journaled as BLAKE3, then rerun as SHA-256:
    // the journal's fingerprint differs, so everything is listed afresh.
    crash("blake3");
    assert!(out.join(".manifest.partial.jsonl").exists());
    build(&t, EXAMPLE, &out, &["--digest", "sha256"]).run();
    let m = manifest(&out);
    for e in m["devices"].as_array().expect("devices") {
        assert!(e["sha256"].is_string() && e.get("blake3").is_none(), "{e}");
    }
    t.tool("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(&out)
        .run();
    // And the other way round.
    crash("sha256");
    build(&t, EXAMPLE, &out, &["--digest", "blake3"]).run();
    b3sum_check(&t, &out, 4);
    let m = manifest(&out);
    for e in m["devices"].as_array().expect("devices") {
        assert!(e["blake3"].is_string() && e.get("sha256").is_none(), "{e}");
    }
}
