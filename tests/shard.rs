//! Sharding: N shard builds merged equal one full build; `--shard 3/2`,
//! missing and overlapping slices are refused; JOB_COMPLETION_INDEX works.

mod common;

use common::fixtures::fixture;
use common::*;

fn devices_of(dir: &std::path::Path) -> String {
    let m = std::fs::read_to_string(dir.join("manifest.json")).expect("manifest");
    m[m.find("\"devices\"").expect("devices")..].to_owned()
}

#[test]
fn shards_merge_into_the_full_build() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 7, "");
    let build = t.cmd().args(["build", s(&r), "--devices", s(&c), "--out"]);
    let full = d.join("full");
    build.clone().arg(&full).run();
    let mut dirs = Vec::new();
    for k in 1..=3 {
        let dir = d.join(format!("shard{k}"));
        build
            .clone()
            .arg(&dir)
            .args(["--shard", &format!("{k}/3")])
            .run();
        dirs.push(dir);
    }
    let merged = d.join("merged");
    t.cmd()
        .args(["manifest", "merge", s(&dirs[0]), s(&dirs[2]), s(&dirs[1])])
        .args(["--out", s(&merged)])
        .run();
    assert_eq!(
        devices_of(&merged),
        devices_of(&full),
        "merged manifest equals the full build's, in CSV order"
    );
    t.tool("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(&merged)
        .run();

    let k8s = d.join("k8s");
    build
        .clone()
        .arg(&k8s)
        .args(["--shard-count", "3"])
        .env("JOB_COMPLETION_INDEX", "1")
        .run();
    assert_eq!(devices_of(&k8s), devices_of(&dirs[1]));

    for (args, want) in [
        (vec![s(&dirs[0]), s(&dirs[2])], "2/3 missing"),
        (
            vec![s(&dirs[0]), s(&dirs[1]), s(&dirs[1]), s(&dirs[2])],
            "given twice",
        ),
    ] {
        t.cmd()
            .args(["manifest", "merge"])
            .args(args)
            .args(["--out", s(&d.join("bad"))])
            .fails()
            .stderr_lines(1)
            .stderr_contains(want)
            .run();
    }
    build
        .arg(d.join("x"))
        .args(["--shard", "3/2"])
        .status(2)
        .stderr_lines(1)
        .stderr_contains("'3/2' for '--shard")
        .run();
}

/// Shards on another file system are copied, not linked: a merge killed
/// after a copy and before its rename leaves no image under its final name,
/// and the rerun finishes the merge.
#[test]
fn a_copy_killed_before_its_rename_leaves_no_half_image_under_its_name() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 2, "");
    // tmpfs: another file system than the test's directory.
    let shm = tempfile::tempdir_in("/dev/shm").expect("a directory in /dev/shm");
    let shard = shm.path().join("shard1");
    t.cmd()
        .args(["build", s(&r), "--devices", s(&c), "--out", s(&shard)])
        .args(["--shard", "1/1"])
        .run();
    let merged = d.join("merged");
    let merge = t
        .cmd()
        .args(["manifest", "merge", s(&shard), "--out", s(&merged)]);
    merge
        .clone()
        .env("FAILPOINTS", "merge-after-copy=return")
        .fails()
        .run();
    let names: Vec<String> = std::fs::read_dir(&merged)
        .expect("the merge's directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| n.ends_with(".img") && !n.starts_with('.')),
        "an image under its final name before its copy was renamed: {names:?}"
    );
    merge.run();
    t.tool("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(&merged)
        .run();
}
