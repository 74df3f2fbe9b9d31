//! `burnline flash`: several targets in parallel, compressed images, a
//! too-small target, and flashing straight from a recipe with the station
//! ledger (a crashed run's unverified identity is issued again, a verified
//! one never; a damaged middle line stops the run; a second process on the
//! same ledger is refused; identities are (ProductKey, DeviceName); a crash
//! right after each ledger state puts no identity on two cards).

mod station_common;
use station_common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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

/// The fixture's recipe with ProductKey `pk`, in `dir/NAME.yaml`, and a CSV
/// of `n` devices gw-000001.. under `pk`, in `dir/NAME.csv`.
fn product(dir: &std::path::Path, name: &str, pk: &str, n: usize) -> (PathBuf, PathBuf) {
    let (r, _) = fixture(dir, 0, "");
    let text = std::fs::read_to_string(&r)
        .expect("recipe")
        .replace("a1X2bEnP82z", pk);
    let (rp, cp) = (
        dir.join(format!("{name}.yaml")),
        dir.join(format!("{name}.csv")),
    );
    std::fs::write(&rp, text).expect("recipe");
    let mut csv = String::from("DeviceName,DeviceSecret,ProductKey\n");
    for i in 1..=n {
        csv.push_str(&format!(
            "gw-{i:06},ga7XA6KdlEeiPXQPpRbAjOZXwG8yd{i:03},{pk}\n"
        ));
    }
    std::fs::write(&cp, csv).expect("csv");
    (rp, cp)
}

fn flash_recipe(r: &Path, c: &Path, ledger: &Path, targets: &[&Path]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args([
        "flash",
        "--recipe",
        s(r),
        "--devices",
        s(c),
        "--ledger",
        s(ledger),
    ]);
    for t in targets {
        cmd.args(["--target", s(t)]);
    }
    cmd.stdin(Stdio::null());
    cmd
}

fn out(cmd: &mut Command) -> (Option<i32>, String) {
    let o = cmd.output().expect("run burnline");
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Every ledger line as JSON.
fn ledger_json(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .expect("ledger")
        .lines()
        .map(|l| serde_json::from_str(l).expect("ledger line"))
        .collect()
}

/// Issue #11, item 1: gw-000001's `verified` line damaged in the middle of
/// the ledger. The next run must refuse (file:line, exit 2), not burn
/// gw-000001 onto a second card.
#[test]
fn a_damaged_verified_line_in_the_middle_refuses_instead_of_reissuing() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    let (r, c) = product(d, "a", "a1X2bEnP82z", 3);
    let ledger = d.join("ledger.jsonl");
    let (c1, c2, c3) = (d.join("card1"), d.join("card2"), d.join("card3"));
    for card in [&c1, &c2] {
        let (code, err) = out(&mut flash_recipe(&r, &c, &ledger, &[card]));
        assert_eq!(code, Some(0), "{err}");
    }
    let text = std::fs::read_to_string(&ledger).expect("ledger");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6);
    assert!(
        lines[2].contains("\"gw-000001\"") && lines[2].contains("\"verified\""),
        "{}",
        lines[2]
    );
    // One flipped byte in gw-000001's verified line (line 3 of 6).
    let damaged = text.replacen(
        lines[2],
        &lines[2].replacen("\"verified\"", "\"verif!ed\"", 1),
        1,
    );
    std::fs::write(&ledger, &damaged).expect("damage");
    let (code, err) = out(&mut flash_recipe(&r, &c, &ledger, &[&c3]));
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!("{}:3: ", ledger.display())) && err.contains("never skipped"),
        "{err}"
    );
    assert!(!c3.exists(), "nothing was burnt onto the third card");
    assert_eq!(
        std::fs::read_to_string(&ledger).expect("ledger"),
        damaged,
        "a damaged ledger is left as it was"
    );
    // Repaired by hand, the run goes on with the next identity.
    std::fs::write(&ledger, &text).expect("restore");
    let (code, err) = out(&mut flash_recipe(&r, &c, &ledger, &[&c3]));
    assert_eq!(code, Some(0), "{err}");
    let raw = d.join("raw");
    ok(&["build", s(&r), "--devices", s(&c), "--out", s(&raw)]);
    assert_eq!(sha(&c1), sha(&raw.join("gw-000001.img")));
    assert_eq!(sha(&c2), sha(&raw.join("gw-000002.img")));
    assert_eq!(sha(&c3), sha(&raw.join("gw-000003.img")));
}

/// Issue #11, item 2: a second `flash --recipe` on the same ledger, while
/// the first is running, gets one line (exit 2) and burns nothing.
#[test]
fn a_second_process_on_the_same_ledger_is_refused_and_burns_nothing() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    let (r, c) = product(d, "a", "a1X2bEnP82z", 3);
    let ledger = d.join("ledger.jsonl");
    let (c1, c2) = (d.join("card1"), d.join("card2"));
    std::fs::write(&c2, vec![0x5a; 8 << 20]).expect("old card");
    // The first run is held for a while right after its `assigned` record.
    let mut first = flash_recipe(&r, &c, &ledger, &[&c1])
        .env("FAILPOINTS", "station-ledger-after-assigned=sleep(5000)")
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn first");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !std::fs::read_to_string(&ledger).is_ok_and(|t| t.contains("\"assigned\"")) {
        assert!(
            std::time::Instant::now() < deadline,
            "the first run never assigned"
        );
        assert!(
            first.try_wait().expect("wait").is_none(),
            "the first run ended early"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let (code, err) = out(&mut flash_recipe(&r, &c, &ledger, &[&c2]));
    assert!(
        first.try_wait().expect("wait").is_none(),
        "the first run was still holding the ledger"
    );
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&ledger.display().to_string())
            && err.contains("in use by another burnline run"),
        "{err}"
    );
    assert!(
        std::fs::read(&c2)
            .expect("card2")
            .iter()
            .all(|b| *b == 0x5a),
        "the second process wrote nothing"
    );
    let o = first.wait_with_output().expect("first");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lines = ledger_json(&ledger);
    assert_eq!(lines.len(), 3);
    assert!(lines
        .iter()
        .all(|l| l["device_name"] == "gw-000001" && l["target"] == s(&c1)));
    let raw = d.join("raw");
    ok(&["build", s(&r), "--devices", s(&c), "--out", s(&raw)]);
    assert_eq!(sha(&c1), sha(&raw.join("gw-000001.img")));
    let stray: Vec<_> = std::fs::read_dir(d)
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

/// Issue #11, item 3: gw-000001 of product A and gw-000001 of product B are
/// two identities in one ledger.
#[test]
fn the_same_device_name_under_two_products_is_two_identities() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    let (ra, ca) = product(d, "a", "a1X2bEnP82z", 1);
    let (rb, cb) = product(d, "b", "b2Y3cFoQ93A", 1);
    let ledger = d.join("ledger.jsonl");
    let (c1, c2, c3) = (d.join("card1"), d.join("card2"), d.join("card3"));
    let (code, err) = out(&mut flash_recipe(&ra, &ca, &ledger, &[&c1]));
    assert_eq!(code, Some(0), "{err}");
    let (code, err) = out(&mut flash_recipe(&rb, &cb, &ledger, &[&c2]));
    assert_eq!(
        code,
        Some(0),
        "product B's gw-000001 is not product A's: {err}"
    );
    for (r, c) in [(&ra, &ca), (&rb, &cb)] {
        let (code, err) = out(&mut flash_recipe(r, c, &ledger, &[&c3]));
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains("already verified"), "{err}");
    }
    assert!(!c3.exists());
    let (rawa, rawb) = (d.join("raw-a"), d.join("raw-b"));
    ok(&["build", s(&ra), "--devices", s(&ca), "--out", s(&rawa)]);
    ok(&["build", s(&rb), "--devices", s(&cb), "--out", s(&rawb)]);
    assert_eq!(sha(&c1), sha(&rawa.join("gw-000001.img")));
    assert_eq!(sha(&c2), sha(&rawb.join("gw-000001.img")));
    assert_ne!(sha(&c1), sha(&c2));
    let verified: Vec<(String, String)> = ledger_json(&ledger)
        .iter()
        .filter(|l| l["state"] == "verified")
        .map(|l| {
            (
                l["product_key"].as_str().expect("pk").to_owned(),
                l["device_name"].as_str().expect("dn").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        verified,
        [
            ("a1X2bEnP82z".to_owned(), "gw-000001".to_owned()),
            ("b2Y3cFoQ93A".to_owned(), "gw-000001".to_owned())
        ]
    );
}

/// Issue #10, item 4: the station crashes (abort) right after each durable
/// state; the operator reruns with the cards that are not good (last record
/// not `verified`) plus new ones, as the docs say. In the end every card is
/// good, holds exactly the image of the identity the ledger verified on it,
/// no identity is verified on two cards, no two cards hold the same image,
/// and the identities issued are the CSV's first ones, none skipped.
#[test]
fn a_crash_after_each_ledger_state_loses_no_identity_and_puts_none_on_two_cards() {
    use std::collections::{BTreeMap, BTreeSet};
    use std::os::unix::process::ExitStatusExt;
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    let (r, c) = product(d, "a", "a1X2bEnP82z", 8);
    let raw = d.join("raw");
    ok(&["build", s(&r), "--devices", s(&c), "--out", s(&raw)]);
    for state in ["assigned", "written", "verified"] {
        let dir = d.join(state);
        std::fs::create_dir(&dir).expect("mkdir");
        let ledger = dir.join("ledger.jsonl");
        let mut next_card = 0;
        let mut new_card = || {
            next_card += 1;
            dir.join(format!("card{next_card}"))
        };
        let mut targets = vec![new_card(), new_card()];
        let refs: Vec<&Path> = targets.iter().map(PathBuf::as_path).collect();
        let status = flash_recipe(&r, &c, &ledger, &refs)
            .env("FAILPOINTS", format!("station-ledger-after-{state}=return"))
            .stderr(Stdio::null())
            .status()
            .expect("run");
        assert_eq!(
            status.signal(),
            Some(6),
            "{state}: the crash point did not fire"
        );
        let last = ledger_json(&ledger).last().cloned().expect("a record");
        assert_eq!(
            last["state"], state,
            "{state}: the crash came right after the append"
        );
        // Rerun until every card given is good.
        for round in 0.. {
            assert!(round < 4, "{state}: no end");
            let mut last_state: BTreeMap<String, String> = BTreeMap::new();
            for l in ledger_json(&ledger) {
                last_state.insert(
                    l["target"].as_str().expect("target").to_owned(),
                    l["state"].as_str().expect("state").to_owned(),
                );
            }
            let not_good: Vec<PathBuf> = targets
                .iter()
                .filter(|t| last_state.get(s(t)).map(String::as_str) != Some("verified"))
                .cloned()
                .collect();
            if not_good.is_empty() {
                break;
            }
            let mut rerun = not_good.clone();
            while rerun.len() < 2 {
                let card = new_card();
                targets.push(card.clone());
                rerun.push(card);
            }
            let refs: Vec<&Path> = rerun.iter().map(PathBuf::as_path).collect();
            let (code, err) = out(&mut flash_recipe(&r, &c, &ledger, &refs));
            assert_eq!(code, Some(0), "{state}: rerun: {err}");
        }
        // The ledger: per card, the identity last verified on it.
        let mut on_card: BTreeMap<String, String> = BTreeMap::new();
        let mut cards_of: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for l in ledger_json(&ledger) {
            assert_eq!(l["product_key"], "a1X2bEnP82z");
            let (dn, card) = (
                l["device_name"].as_str().expect("dn").to_owned(),
                l["target"].as_str().expect("target").to_owned(),
            );
            if l["state"] == "verified" {
                cards_of.entry(dn.clone()).or_default().insert(card.clone());
                on_card.insert(card, dn);
            }
        }
        for (dn, cards) in &cards_of {
            assert_eq!(cards.len(), 1, "{state}: {dn} verified on {cards:?}");
        }
        assert_eq!(on_card.len(), targets.len(), "{state}: every card is good");
        let mut images = BTreeSet::new();
        for t in &targets {
            let dn = &on_card[s(t)];
            let h = sha(t);
            assert_eq!(
                h,
                sha(&raw.join(format!("{dn}.img"))),
                "{state}: {} holds {dn}",
                t.display()
            );
            assert!(images.insert(h), "{state}: two cards hold {dn}");
        }
        let issued: Vec<&String> = cards_of.keys().collect();
        let want: Vec<String> = (1..=issued.len()).map(|i| format!("gw-{i:06}")).collect();
        assert_eq!(
            issued,
            want.iter().collect::<Vec<_>>(),
            "{state}: an identity was skipped"
        );
    }
}
