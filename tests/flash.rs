//! `burnline flash`: several targets in parallel, compressed images, a
//! too-small target, and flashing straight from a recipe with the station
//! ledger (a crashed run's unverified identity is issued again, a verified
//! one never).

mod station_common;
use station_common::*;

#[test]
fn flashes_several_targets_and_refuses_small_ones() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    let (r, c) = fixture(d, 2, "");
    let (raw, xz) = (d.join("raw"), d.join("xz"));
    ok(&["build", s(&r), "--devices", s(&c), "--out", s(&raw)]);
    ok(&[
        "build",
        s(&r),
        "--devices",
        s(&c),
        "--out",
        s(&xz),
        "--compress",
        "xz",
    ]);
    let (a, b) = (d.join("a"), d.join("b"));
    // A used card: old bytes everywhere must not survive where no bmap is given.
    std::fs::write(&b, vec![0x5a; 8 << 20]).expect("old card");
    ok(&[
        "flash",
        s(&xz.join("gw-0001.img.xz")),
        s(&xz.join("gw-0002.img.xz")),
        "--target",
        s(&a),
        "--target",
        s(&b),
    ]);
    assert_eq!(sha(&a), sha(&raw.join("gw-0001.img")));
    assert_eq!(sha(&b), sha(&raw.join("gw-0002.img")));

    let small = d.join("small");
    std::fs::write(&small, vec![7u8; 1 << 20]).expect("small");
    let o = burnline(&["flash", s(&raw.join("gw-0001.img")), "--target", s(&small)]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.lines().count() == 1, "{err}");
    assert!(
        err.contains("too small") && err.contains("nothing was written"),
        "{err}"
    );
    assert!(
        std::fs::read(&small)
            .expect("small")
            .iter()
            .all(|b| *b == 7),
        "untouched"
    );
}

fn ledger_states(path: &std::path::Path) -> Vec<(String, String, String)> {
    std::fs::read_to_string(path)
        .expect("ledger")
        .lines()
        .filter_map(serde_json_value)
        .collect()
}

fn serde_json_value(line: &str) -> Option<(String, String, String)> {
    let get = |k: &str| {
        let at = line.find(&format!("\"{k}\":\""))? + k.len() + 4;
        Some(line[at..at + line[at..].find('"')?].to_owned())
    };
    Some((get("device_name")?, get("target")?, get("state")?))
}

#[test]
fn flash_from_recipe_keeps_a_ledger() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    let (r, c) = fixture(d, 4, "");
    let raw = d.join("raw");
    ok(&["build", s(&r), "--devices", s(&c), "--out", s(&raw)]);
    let ledger = d.join("station/ledger.jsonl");
    let (c1, c2) = (d.join("card1"), d.join("card2"));
    ok(&[
        "flash",
        "--recipe",
        s(&r),
        "--devices",
        s(&c),
        "--ledger",
        s(&ledger),
        "--target",
        s(&c1),
        "--target",
        s(&c2),
    ]);
    assert_eq!(sha(&c1), sha(&raw.join("gw-0001.img")));
    assert_eq!(sha(&c2), sha(&raw.join("gw-0002.img")));
    let states = ledger_states(&ledger);
    for dev in ["gw-0001", "gw-0002"] {
        let mine: Vec<&str> = states
            .iter()
            .filter(|s| s.0 == dev)
            .map(|s| s.2.as_str())
            .collect();
        assert_eq!(mine, ["assigned", "written", "verified"], "{dev}");
    }
    let text = std::fs::read_to_string(&ledger).expect("ledger");
    assert!(!text.contains("ga7XA6"), "no secret in the ledger");

    // A crash: gw-0003 assigned to a card that was pulled, and a torn line.
    let mut text = text;
    text.push_str("{\"device_name\":\"gw-0003\",\"product_key\":\"a1X2bEnP82z\",\"target\":\"pulled\",\"state\":\"assigned\",\"time\":1}\n{\"device_na");
    std::fs::write(&ledger, text).expect("ledger");
    let c3 = d.join("card3");
    ok(&[
        "flash",
        "--recipe",
        s(&r),
        "--devices",
        s(&c),
        "--ledger",
        s(&ledger),
        "--target",
        s(&c3),
    ]);
    assert_eq!(
        sha(&c3),
        sha(&raw.join("gw-0003.img")),
        "the unverified identity is issued again"
    );
    let c4 = d.join("card4");
    ok(&[
        "flash",
        "--recipe",
        s(&r),
        "--devices",
        s(&c),
        "--ledger",
        s(&ledger),
        "--target",
        s(&c4),
    ]);
    assert_eq!(sha(&c4), sha(&raw.join("gw-0004.img")));
    let o = burnline(&[
        "flash",
        "--recipe",
        s(&r),
        "--devices",
        s(&c),
        "--ledger",
        s(&ledger),
        "--target",
        s(&d.join("card5")),
    ]);
    assert!(
        !o.status.success(),
        "no identity left: a verified one is never issued again"
    );
    let mut verified: Vec<String> = ledger_states(&ledger)
        .into_iter()
        .filter(|s| s.2 == "verified")
        .map(|s| s.0)
        .collect();
    verified.sort();
    assert_eq!(verified, ["gw-0001", "gw-0002", "gw-0003", "gw-0004"]);
}

#[test]
fn mounted_target_is_refused() {
    // Needs root and a loop device (as the project's machines and CI have).
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    let (r, c) = fixture(d, 1, "");
    let raw = d.join("raw");
    ok(&["build", s(&r), "--devices", s(&c), "--out", s(&raw)]);
    let card = d.join("card");
    std::fs::write(&card, vec![0u8; 8 << 20]).expect("card");
    tool("mkfs.ext4", &["-q", s(&card)], d);
    let mnt = d.join("mnt");
    std::fs::create_dir(&mnt).expect("mnt");
    tool("mount", &["-o", "loop", s(&card), s(&mnt)], d);
    let o = burnline(&["flash", s(&raw.join("gw-0001.img")), "--target", s(&card)]);
    tool("umount", &[s(&mnt)], d);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.lines().count() == 1, "{err}");
    assert!(
        err.contains("in use") && err.contains("nothing was written"),
        "{err}"
    );
    let bytes = std::fs::read(&card).expect("card");
    assert_ne!(
        &bytes[512..520],
        b"EFI PART",
        "the mounted card got no partition table"
    );
}
