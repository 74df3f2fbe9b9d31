//! Tamper-evident ledgers: every line of the station ledger and of the
//! registration ledger links to the SHA-256 of the line before it.
//! `ledger verify` names a removed, altered or reordered line (exit 2), and
//! so does the run that opens the ledger, burning nothing; a torn last line
//! is still only a torn last line. `ledger sign` writes `FILE.head` and its
//! signature, checked by `minisign -V` and by `ledger verify --pubkey`,
//! which reports lines cut off the end and lines appended after the head.
//! A ledger written before the chain is read and reported as unchained.

mod common;

use common::emulator::{write_products, Emulator};
use common::fixtures::fixture;
use common::*;
use std::path::{Path, PathBuf};

fn flash(t: &Test, r: &Path, c: &Path, ledger: &str, cards: &[&str]) -> Test {
    for card in cards {
        std::fs::File::create(t.path().join(card))
            .and_then(|f| f.set_len(8 << 20))
            .expect("card");
    }
    cards.iter().fold(
        t.cmd()
            .args(["flash", "--recipe", s(r), "--devices", s(c)])
            .arg("--ledger")
            .arg(t.path().join(ledger)),
        |cmd, card| cmd.args(["--target", card]),
    )
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .expect("ledger")
        .lines()
        .map(|l| format!("{l}\n"))
        .collect()
}

fn keypair(t: &Test) -> (PathBuf, PathBuf) {
    let (p, k) = (t.path().join("l.pub"), t.path().join("l.key"));
    t.tool("minisign")
        .args(["-G", "-W", "-p", s(&p), "-s", s(&k)])
        .run();
    (p, k)
}

#[test]
fn a_station_ledger_edited_in_the_middle_is_named_by_line() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 6, "");
    flash(&t, &r, &c, "ledger.jsonl", &["c1", "c2"]).run();
    let path = d.join("ledger.jsonl");
    let good = lines(&path);
    assert_eq!(good.len(), 6);
    assert!(
        good.iter().all(|l| l.starts_with("{\"prev\":\"")),
        "{good:?}"
    );
    let verify = || t.cmd().args(["ledger", "verify", "ledger.jsonl"]);
    verify()
        .stdout_contains("ok: ledger.jsonl: 6 line(s), 6 chained, the hash chain is intact")
        .run();
    let altered = good[3].replacen("\"time\":", "\"time\":1", 1);
    assert_ne!(altered, good[3]);
    for (text, at) in [
        // Line 2 removed.
        ([&good[..1], &good[2..]].concat(), 2),
        // Line 4 altered, still a valid record: line 5 no longer links.
        (
            [&good[..3], std::slice::from_ref(&altered), &good[4..]].concat(),
            5,
        ),
        // Lines 2 and 3 swapped.
        (
            [&good[..1], &[good[2].clone(), good[1].clone()], &good[3..]].concat(),
            2,
        ),
    ] {
        let text = text.concat();
        std::fs::write(&path, &text).expect("edit");
        verify()
            .status(2)
            .error_line(format!("ledger.jsonl:{at}: the hash chain is broken"))
            .stderr_lines(2)
            .run();
        // The station refuses it too, and writes no card.
        flash(&t, &r, &c, "ledger.jsonl", &["c3"])
            .status(2)
            .error_line(format!("ledger.jsonl:{at}: the hash chain is broken"))
            .stderr_contains("never skipped")
            .run();
        assert_eq!(std::fs::metadata(d.join("c3")).expect("c3").len(), 8 << 20);
        assert!(
            std::fs::read(d.join("c3"))
                .expect("c3")
                .iter()
                .all(|&b| b == 0),
            "nothing was written to the card"
        );
        assert_eq!(std::fs::read_to_string(&path).expect("ledger"), text);
    }
    // A torn last line is only torn: reported, not an error; the next run
    // cuts it and goes on.
    std::fs::write(&path, good.concat() + &good[5][..30]).expect("torn");
    verify()
        .stderr_contains("warning: ledger.jsonl:7: torn last line")
        .stdout_contains("6 line(s), 6 chained")
        .run();
    flash(&t, &r, &c, "ledger.jsonl", &["c3"]).run();
    verify().stdout_contains("9 line(s), 9 chained").run();
}

#[test]
fn a_signed_head_shows_lines_cut_off_the_end_and_lines_appended_after_it() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 6, "");
    let (public, secret) = keypair(&t);
    let (other, _) = {
        let (p, k) = (d.join("o.pub"), d.join("o.key"));
        t.tool("minisign")
            .args(["-G", "-W", "-p", s(&p), "-s", s(&k)])
            .run();
        (p, k)
    };
    flash(&t, &r, &c, "ledger.jsonl", &["c1", "c2"]).run();
    t.cmd()
        .args(["ledger", "sign", "ledger.jsonl", "--sign", s(&secret)])
        .stdout_contains("signed: ledger.jsonl.head (6 line(s))")
        .run();
    t.tool("minisign")
        .args(["-V", "-p", s(&public), "-m", "ledger.jsonl.head"])
        .stdout_contains("Trusted comment: file:ledger.jsonl.head")
        .run();
    let head: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("ledger.jsonl.head")).expect("head"))
            .expect("head json");
    assert_eq!(head["lines"], 6);
    assert_eq!(head["log"], "ledger.jsonl");
    let verify = |key: &Path| {
        t.cmd()
            .args(["ledger", "verify", "ledger.jsonl", "--pubkey", s(key)])
    };
    verify(&public)
        .stdout_contains("signed head: lines 1..6 are as signed")
        .stdout_lacks("appended after")
        .run();
    flash(&t, &r, &c, "ledger.jsonl", &["c3"]).run();
    verify(&public)
        .stdout_contains("signed head: lines 1..6 are as signed")
        .stdout_contains("3 line(s) appended after the signed head (lines 7..9)")
        .run();
    let path = d.join("ledger.jsonl");
    let good = lines(&path);
    // The last five lines cut off: the chain cannot tell, the head can.
    std::fs::write(&path, good[..4].concat()).expect("cut");
    t.cmd()
        .args(["ledger", "verify", "ledger.jsonl"])
        .stdout_contains("4 line(s)")
        .run();
    verify(&public)
        .status(2)
        .error_line("ledger.jsonl: lines were removed from the end: the signed head covers 6 line(s), the file has 4")
        .stderr_lines(2)
        .run();
    // The links stripped off every line: unchained, so only the head shows it.
    let stripped: String = good.iter().map(|l| format!("{{{}", &l[75..])).collect();
    std::fs::write(&path, &stripped).expect("strip");
    t.cmd()
        .args(["ledger", "verify", "ledger.jsonl"])
        .stdout_contains("lines 1..9 are unchained")
        .run();
    verify(&public)
        .status(2)
        .error_line("ledger.jsonl:6: the first 6 line(s) differ from the signed head")
        .run();
    std::fs::write(&path, good.concat()).expect("restore");
    verify(&other)
        .status(2)
        .error_line("ledger.jsonl.head.minisig: signed by another key")
        .run();
    let hp = d.join("ledger.jsonl.head");
    let text = std::fs::read_to_string(&hp).expect("head");
    std::fs::write(&hp, text.replace("\"lines\":6", "\"lines\":5")).expect("edit head");
    verify(&public)
        .status(2)
        .error_line("ledger.jsonl.head.minisig: the signature does not match ledger.jsonl.head")
        .run();
    // Signing again covers all nine.
    t.cmd()
        .args(["ledger", "sign", "ledger.jsonl", "--sign", s(&secret)])
        .run();
    verify(&public)
        .stdout_contains("lines 1..9 are as signed")
        .run();
    // A damaged ledger is not signed.
    std::fs::write(&path, [&good[..1], &good[2..]].concat().concat()).expect("edit");
    t.cmd()
        .args(["ledger", "sign", "ledger.jsonl", "--sign", s(&secret)])
        .status(2)
        .error_line("ledger.jsonl:2: the hash chain is broken")
        .run();
}

#[test]
fn a_ledger_from_before_the_chain_is_read_and_chained_on() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 6, "");
    flash(&t, &r, &c, "ledger.jsonl", &["c1"]).run();
    let path = d.join("ledger.jsonl");
    // As burnline wrote it before: the same records, no links.
    let old: String = lines(&path)
        .iter()
        .map(|l| format!("{{{}", &l[75..]))
        .collect();
    assert!(!old.contains("prev"));
    std::fs::write(&path, &old).expect("old ledger");
    t.cmd()
        .args(["ledger", "verify", "ledger.jsonl"])
        .stdout_contains("lines 1..3 are unchained (written before burnline chained its logs)")
        .stdout_contains("3 line(s), 0 chained")
        .run();
    // The station goes on with the next identity, chaining from here.
    flash(&t, &r, &c, "ledger.jsonl", &["c2"]).run();
    t.cmd()
        .args(["ledger", "verify", "ledger.jsonl"])
        .stdout_contains("6 line(s), 3 chained")
        .run();
    assert!(std::fs::read_to_string(&path)
        .expect("ledger")
        .starts_with(&old));
}

fn write_host_recipe(dir: &Path, endpoint: &str) -> PathBuf {
    let text = format!(
        "disk: {{size: 4MiB, table: gpt, seed: 0123456789abcdef0123456789abcdef}}\n\
         partitions:\n  - {{name: creds, size: 1MiB, credentials: {{}}}}\n  - {{name: data, size: fill}}\n\
         auth: {{mode: product-secret, product_key: {PK}, product_secret: {{env: TEST_PS}}, register: host, endpoint: \"{endpoint}\"}}\n"
    );
    let path = dir.join("recipe.yaml");
    std::fs::write(&path, text).expect("recipe");
    path
}

#[test]
fn the_registration_ledger_is_chained_too() {
    let t = Test::new().env("TEST_PS", PS);
    let d = t.path();
    let names = ["gw-000001", "gw-000002", "gw-000003"];
    let products = write_products(d, &names);
    let emu = Emulator::start(d, &products, &[]);
    let recipe = write_host_recipe(d, &emu.url);
    let csv = d.join("devices.csv");
    std::fs::write(&csv, format!("DeviceName\n{}\n", names.join("\n"))).expect("csv");
    let build = t
        .cmd()
        .args(["build", s(&recipe), "--devices", s(&csv), "--out", "out"]);
    build.clone().run();
    let ledger = d.join("out/registrations.jsonl");
    let good = lines(&ledger);
    assert_eq!(good.len(), 3);
    t.cmd()
        .args(["ledger", "verify", "out/registrations.jsonl"])
        .stdout_contains("3 line(s), 3 chained, the hash chain is intact")
        .run();
    // Line 2's secret changed by one character: still a valid record, so
    // only the chain shows it, at line 3; no secret is ever printed.
    let v: serde_json::Value = serde_json::from_str(&good[1]).expect("line");
    let secret = v["device_secret"].as_str().expect("secret").to_owned();
    let other = format!(
        "{}{}",
        &secret[..secret.len() - 1],
        if secret.ends_with('A') { 'B' } else { 'A' }
    );
    let edited = [
        good[0].clone(),
        good[1].replace(&secret, &other),
        good[2].clone(),
    ]
    .concat();
    std::fs::write(&ledger, &edited).expect("edit");
    let secrets = |b: Test| b.output_lacks(&secret).output_lacks(&other);
    secrets(
        t.cmd()
            .args(["ledger", "verify", "out/registrations.jsonl"]),
    )
    .status(2)
    .error_line("registrations.jsonl:3: the hash chain is broken")
    .run();
    secrets(build.clone())
        .status(2)
        .error_line("registrations.jsonl:3: the hash chain is broken")
        .run();
}
