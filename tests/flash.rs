//! `burnline flash`: several targets in parallel, compressed images, a
//! too-small target, and flashing straight from a recipe with the station
//! ledger (a crashed run's unverified identity is issued again, a verified
//! one never; a damaged middle line stops the run; a second process on the
//! same ledger is refused; identities are (ProductKey, DeviceName); a crash
//! right after each ledger state puts no identity on two cards).

mod common;

use common::fixtures::fixture;
use common::images::sha;
use common::*;
use std::path::{Path, PathBuf};

/// `burnline build RECIPE --devices CSV --out OUT`, in `t`'s directory.
fn build(t: &Test, r: &Path, c: &Path, out: &Path) -> Test {
    t.cmd()
        .args(["build", s(r), "--devices", s(c), "--out", s(out)])
}

#[test]
fn flashes_several_targets_and_refuses_small_ones() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 2, "");
    let (raw, xz) = (d.join("raw"), d.join("xz"));
    build(&t, &r, &c, &raw).run();
    build(&t, &r, &c, &xz).args(["--compress", "xz"]).run();
    let (a, b) = (d.join("a.img"), d.join("b.img"));
    // A used card: old bytes everywhere must not survive where no bmap is given.
    std::fs::write(&b, vec![0x5a; 8 << 20]).expect("old card");
    t.cmd()
        .args(["flash", s(&xz.join("gw-0001.img.xz"))])
        .arg(xz.join("gw-0002.img.xz"))
        .args(["--target", s(&a), "--target", s(&b)])
        .run();
    assert_eq!(sha(&a), sha(&raw.join("gw-0001.img")));
    assert_eq!(sha(&b), sha(&raw.join("gw-0002.img")));

    let small = d.join("small");
    std::fs::write(&small, vec![7u8; 1 << 20]).expect("small");
    t.cmd()
        .args(["flash", s(&raw.join("gw-0001.img")), "--target", s(&small)])
        .fails()
        .stderr_lines(1)
        .stderr_contains(format!("target {}: too small", small.display()))
        .stderr_contains("nothing was written")
        .run();
    assert!(
        std::fs::read(&small)
            .expect("small")
            .iter()
            .all(|b| *b == 7),
        "untouched"
    );
}

/// `flash --recipe R --devices C --ledger L --target ...`, in `t`'s
/// directory.
fn flash_recipe(t: &Test, r: &Path, c: &Path, ledger: &Path, targets: &[&Path]) -> Test {
    targets.iter().fold(
        t.cmd()
            .args(["flash", "--recipe", s(r), "--devices", s(c)])
            .args(["--ledger", s(ledger)]),
        |cmd, card| cmd.args(["--target", s(card)]),
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

/// Every ledger line as (device name, target, state).
fn ledger_states(path: &Path) -> Vec<(String, String, String)> {
    let field = |l: &serde_json::Value, k: &str| l[k].as_str().expect(k).to_owned();
    ledger_json(path)
        .iter()
        .map(|l| {
            (
                field(l, "device_name"),
                field(l, "target"),
                field(l, "state"),
            )
        })
        .collect()
}

#[test]
fn flash_from_recipe_keeps_a_ledger() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 4, "");
    let raw = d.join("raw");
    build(&t, &r, &c, &raw).run();
    let ledger = d.join("station/ledger.jsonl");
    let (c1, c2) = (d.join("card1.img"), d.join("card2.img"));
    flash_recipe(&t, &r, &c, &ledger, &[&c1, &c2])
        .output_lacks("ga7XA6")
        .run();
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

    // A crash: gw-0003 assigned to a card that was pulled (a line chained
    // to the last one, as the ledger writes it), and a torn line.
    let mut text = text;
    let last = text.lines().last().expect("a line");
    let prev = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(last.as_bytes()));
    text.push_str(&format!("{{\"prev\":\"{prev}\",\"device_name\":\"gw-0003\",\"product_key\":\"a1X2bEnP82z\",\"target\":\"pulled\",\"state\":\"assigned\",\"time\":1}}\n{{\"device_na"));
    std::fs::write(&ledger, text).expect("ledger");
    let c3 = d.join("card3.img");
    flash_recipe(&t, &r, &c, &ledger, &[&c3]).run();
    assert_eq!(
        sha(&c3),
        sha(&raw.join("gw-0003.img")),
        "the unverified identity is issued again"
    );
    let c4 = d.join("card4.img");
    flash_recipe(&t, &r, &c, &ledger, &[&c4]).run();
    assert_eq!(sha(&c4), sha(&raw.join("gw-0004.img")));
    // No identity left: a verified one is never issued again.
    let c5 = d.join("card5.img");
    flash_recipe(&t, &r, &c, &ledger, &[&c5])
        .status(2)
        .stderr_lines(1)
        .stderr_contains(format!(
            "every identity in {} is already verified on a card",
            c.display()
        ))
        .absent(&c5)
        .run();
    let mut verified: Vec<String> = ledger_states(&ledger)
        .into_iter()
        .filter(|s| s.2 == "verified")
        .map(|s| s.0)
        .collect();
    verified.sort();
    assert_eq!(verified, ["gw-0001", "gw-0002", "gw-0003", "gw-0004"]);
}

/// A mount point, unmounted when dropped (also when the test fails).
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn mounted_target_is_refused() {
    // Needs root and a loop device (as the project's machines and CI have).
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 1, "");
    let raw = d.join("raw");
    build(&t, &r, &c, &raw).run();
    let card = d.join("card");
    std::fs::write(&card, vec![0u8; 8 << 20]).expect("card");
    t.tool("mkfs.ext4").args(["-q", s(&card)]).run();
    let mnt = d.join("mnt");
    std::fs::create_dir(&mnt).expect("mnt");
    t.tool("mount")
        .args(["-o", "loop", s(&card), s(&mnt)])
        .run();
    let mounted = Mounted(mnt);
    t.cmd()
        .args(["flash", s(&raw.join("gw-0001.img")), "--target", s(&card)])
        .fails()
        .stderr_lines(1)
        .stderr_contains(format!("target {}: in use", card.display()))
        .stderr_contains("nothing was written")
        .run();
    drop(mounted);
    let bytes = std::fs::read(&card).expect("card");
    assert_ne!(
        &bytes[512..520],
        b"EFI PART",
        "the mounted card got no partition table"
    );
}

/// The fixture's recipe with ProductKey `pk`, in `dir/NAME.yaml`, and a CSV
/// of `n` devices gw-000001.. under `pk`, in `dir/NAME.csv`.
fn product(dir: &Path, name: &str, pk: &str, n: usize) -> (PathBuf, PathBuf) {
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

/// Issue #11, item 1: gw-000001's `verified` line damaged in the middle of
/// the ledger. The next run must refuse (file:line, exit 2), not burn
/// gw-000001 onto a second card.
#[test]
fn a_damaged_verified_line_in_the_middle_refuses_instead_of_reissuing() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = product(d, "a", "a1X2bEnP82z", 3);
    let ledger = d.join("ledger.jsonl");
    let (c1, c2, c3) = (
        d.join("card1.img"),
        d.join("card2.img"),
        d.join("card3.img"),
    );
    for card in [&c1, &c2] {
        flash_recipe(&t, &r, &c, &ledger, &[card]).run();
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
    flash_recipe(&t, &r, &c, &ledger, &[&c3])
        .status(2)
        .error_line(format!("{}:3: ", ledger.display()))
        .stderr_contains("never skipped")
        .absent(&c3)
        .run();
    assert_eq!(
        std::fs::read_to_string(&ledger).expect("ledger"),
        damaged,
        "a damaged ledger is left as it was"
    );
    // Repaired by hand, the run goes on with the next identity.
    std::fs::write(&ledger, &text).expect("restore");
    flash_recipe(&t, &r, &c, &ledger, &[&c3]).run();
    let raw = d.join("raw");
    build(&t, &r, &c, &raw).run();
    assert_eq!(sha(&c1), sha(&raw.join("gw-000001.img")));
    assert_eq!(sha(&c2), sha(&raw.join("gw-000002.img")));
    assert_eq!(sha(&c3), sha(&raw.join("gw-000003.img")));
}

/// Issue #11, item 2: a second `flash --recipe` on the same ledger, while
/// the first is running, gets one line (exit 2) and burns nothing.
#[test]
fn a_second_process_on_the_same_ledger_is_refused_and_burns_nothing() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = product(d, "a", "a1X2bEnP82z", 3);
    let ledger = d.join("ledger.jsonl");
    let (c1, c2) = (d.join("card1.img"), d.join("card2.img"));
    std::fs::write(&c2, vec![0x5a; 8 << 20]).expect("old card");
    // The first run is held for a while right after its `assigned` record.
    let mut first = flash_recipe(&t, &r, &c, &ledger, &[&c1])
        .env("FAILPOINTS", "station-ledger-after-assigned=sleep(5000)")
        .spawn();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !std::fs::read_to_string(&ledger).is_ok_and(|t| t.contains("\"assigned\"")) {
        assert!(
            std::time::Instant::now() < deadline,
            "the first run never assigned"
        );
        assert!(!first.has_ended(), "the first run ended early");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    flash_recipe(&t, &r, &c, &ledger, &[&c2])
        .status(2)
        .stderr_lines(1)
        .stderr_contains(format!(
            "{}: the station ledger is in use by another burnline run",
            ledger.display()
        ))
        .run();
    assert!(
        !first.has_ended(),
        "the first run was still holding the ledger"
    );
    assert!(
        std::fs::read(&c2)
            .expect("card2")
            .iter()
            .all(|b| *b == 0x5a),
        "the second process wrote nothing"
    );
    first.wait();
    let lines = ledger_json(&ledger);
    assert_eq!(lines.len(), 3);
    assert!(lines
        .iter()
        .all(|l| l["device_name"] == "gw-000001" && l["target"] == s(&c1)));
    let raw = d.join("raw");
    build(&t, &r, &c, &raw).run();
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
    let t = Test::new();
    let d = t.path();
    let (ra, ca) = product(d, "a", "a1X2bEnP82z", 1);
    let (rb, cb) = product(d, "b", "b2Y3cFoQ93A", 1);
    let ledger = d.join("ledger.jsonl");
    let (c1, c2, c3) = (
        d.join("card1.img"),
        d.join("card2.img"),
        d.join("card3.img"),
    );
    flash_recipe(&t, &ra, &ca, &ledger, &[&c1]).run();
    // Product B's gw-000001 is not product A's.
    flash_recipe(&t, &rb, &cb, &ledger, &[&c2]).run();
    for (r, c) in [(&ra, &ca), (&rb, &cb)] {
        flash_recipe(&t, r, c, &ledger, &[&c3])
            .status(2)
            .stderr_contains("already verified")
            .absent(&c3)
            .run();
    }
    let (rawa, rawb) = (d.join("raw-a"), d.join("raw-b"));
    build(&t, &ra, &ca, &rawa).run();
    build(&t, &rb, &cb, &rawb).run();
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
    let t = Test::new();
    let d = t.path();
    let (r, c) = product(d, "a", "a1X2bEnP82z", 8);
    let raw = d.join("raw");
    build(&t, &r, &c, &raw).run();
    for state in ["assigned", "written", "verified"] {
        let dir = d.join(state);
        std::fs::create_dir(&dir).expect("mkdir");
        let ledger = dir.join("ledger.jsonl");
        let mut next_card = 0;
        let mut new_card = || {
            next_card += 1;
            dir.join(format!("card{next_card}.img"))
        };
        let mut targets = vec![new_card(), new_card()];
        let refs: Vec<&Path> = targets.iter().map(PathBuf::as_path).collect();
        // SIGABRT: the crash point fired.
        flash_recipe(&t, &r, &c, &ledger, &refs)
            .env("FAILPOINTS", format!("station-ledger-after-{state}=return"))
            .signal(6)
            .run();
        // The crash came right after an append of that state. (With two
        // cards written in parallel, the other card's writer may still have
        // appended its own `written` before the process died.)
        let records = ledger_json(&ledger);
        assert!(
            records.iter().any(|l| l["state"] == state),
            "{state}: no record of the state the crash followed: {records:?}"
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
            flash_recipe(&t, &r, &c, &ledger, &refs).run();
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
