//! Sharding: N shard builds merged equal one full build; `--shard 3/2`,
//! missing and overlapping slices are refused; JOB_COMPLETION_INDEX works.

mod station_common;
use station_common::*;
use std::process::Command;

fn devices_of(dir: &std::path::Path) -> String {
    let m = std::fs::read_to_string(dir.join("manifest.json")).expect("manifest");
    m[m.find("\"devices\"").expect("devices")..].to_owned()
}

#[test]
fn shards_merge_into_the_full_build() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    let (r, c) = fixture(d, 7, "");
    let full = d.join("full");
    ok(&["build", s(&r), "--devices", s(&c), "--out", s(&full)]);
    let mut dirs = Vec::new();
    for k in 1..=3 {
        let dir = d.join(format!("shard{k}"));
        ok(&[
            "build",
            s(&r),
            "--devices",
            s(&c),
            "--out",
            s(&dir),
            "--shard",
            &format!("{k}/3"),
        ]);
        dirs.push(dir);
    }
    let merged = d.join("merged");
    ok(&[
        "manifest",
        "merge",
        s(&dirs[0]),
        s(&dirs[2]),
        s(&dirs[1]),
        "--out",
        s(&merged),
    ]);
    assert_eq!(
        devices_of(&merged),
        devices_of(&full),
        "merged manifest equals the full build's, in CSV order"
    );
    tool("sha256sum", &["-c", "SHA256SUMS"], &merged);

    let k8s = d.join("k8s");
    let o = Command::new(BIN)
        .args([
            "build",
            s(&r),
            "--devices",
            s(&c),
            "--out",
            s(&k8s),
            "--shard-count",
            "3",
        ])
        .env("JOB_COMPLETION_INDEX", "1")
        .output()
        .expect("run");
    assert!(o.status.success());
    assert_eq!(devices_of(&k8s), devices_of(&dirs[1]));

    for (args, want) in [
        (vec![s(&dirs[0]), s(&dirs[2])], "2/3 missing"),
        (
            vec![s(&dirs[0]), s(&dirs[1]), s(&dirs[1]), s(&dirs[2])],
            "given twice",
        ),
    ] {
        let mut a = vec!["manifest", "merge"];
        a.extend(args);
        let out = d.join("bad");
        a.extend(["--out", s(&out)]);
        let o = burnline(&a);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            !o.status.success() && err.lines().count() == 1 && err.contains(want),
            "{err}"
        );
    }
    let o = burnline(&[
        "build",
        s(&r),
        "--devices",
        s(&c),
        "--out",
        s(&d.join("x")),
        "--shard",
        "3/2",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err.lines().count() == 1 && err.contains("'3/2' for '--shard"),
        "{err}"
    );
}
