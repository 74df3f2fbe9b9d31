//! `burnline station serve` as an operator meets it: loop devices are the
//! slots (`losetup` a card file to insert it, `losetup -d` to take it out),
//! the service runs against a real pool, and headless Chromium keeps the
//! operator page open the whole time, the test reading its live DOM over
//! the DevTools protocol at each stage and saving screenshots. 20 cards go
//! into 4 slots: one is pulled in the middle of its write, one is too
//! small. At the end 18 cards are verified, each holding its own identity
//! and each with a label whose QR code `zbarimg` decodes to its DeviceName;
//! the pulled card's identity is quarantined and the small card was
//! reported and not written. The station commands docs/station-service.md
//! shows (`pool init`, `pool import`, `station serve --config`, `station
//! report --since DAY --journal`) are the ones this test runs.

mod common;

use common::chromium::Browser;
use common::postgres::Postgres;
use common::slots::Slot;
use common::station::*;
use common::*;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

#[test]
fn twenty_cards_into_four_slots_one_pulled_one_too_small_on_sqlite() {
    let t = Test::new();
    let db = format!("sqlite:{}", s(&t.path().join("pool.db")));
    twenty_cards(&t, &db, 200, "sqlite");
}

#[test]
fn twenty_cards_into_four_slots_one_pulled_one_too_small_on_postgres() {
    let pg = Postgres::start();
    pg.createdb("line");
    let t = Test::new();
    twenty_cards(&t, &pg.url("line"), 204, "postgres");
}

/// The scenario on the pool at `db`, with the slots `/dev/loopN` from
/// `first_slot` on; screenshots are named after `name`.
fn twenty_cards(t: &Test, db: &str, first_slot: u32, name: &str) {
    let t = t.clone();
    let slots: Vec<Slot> = (first_slot..first_slot + 4).map(Slot::new).collect();
    let paths: Vec<&str> = slots.iter().map(Slot::path).collect();
    // The label printer: a command that copies each label it is given.
    let printed = t.path().join("printed");
    std::fs::create_dir(&printed).expect("printed");
    let st = station_on(
        &t,
        db,
        &paths,
        20,
        &format!("labels:\n  print_command: [cp, -t, '{}']\n", s(&printed)),
    );
    let run = st.serve(400);
    let addr = st.addr.clone();
    let mut b = Browser::open(&format!("http://{addr}/"));

    // Stage 1: the page, every slot empty, nothing done yet.
    let d = page_shows(&mut b, Duration::from_secs(20), |d| {
        states(d) == ["empty"; 4] && d["remaining"] == "20"
    });
    assert_eq!((d["pass"].as_u64(), d["fail"].as_u64()), (Some(0), Some(0)));
    assert!(
        d["slots"][0]["text"].as_str().expect("text").contains("空"),
        "{d}"
    );
    b.screenshot(&shots().join(format!("{name}-1-empty.png")));

    // Stage 2: four cards in; the second is pulled while it is written.
    let mut cards: Vec<PathBuf> = (1..=20)
        .map(|i| card(&t, &format!("card-{i:02}.img"), 16 << 20))
        .collect();
    cards[6] = card(&t, "card-07-small.img", 4 << 20);
    for (slot, c) in slots.iter().zip(&cards) {
        slot.insert(&t, c, &[]);
    }
    api_slot(&addr, 1, &["writing"], Duration::from_secs(20));
    // Live progress on the page: percent, MB/s and the time left.
    let d = page_shows(&mut b, Duration::from_secs(20), |d| {
        d["slots"][1]["state"] == "writing" && d["slots"][1]["percent"].as_u64() > Some(0)
    });
    let text = d["slots"][1]["text"].as_str().expect("text");
    assert!(text.contains("MB/s") && text.contains("s 剩余"), "{d}");
    b.screenshot(&shots().join(format!("{name}-2-writing.png")));
    slots[1].pull(&t, &cards[1]);
    for i in [0, 2, 3] {
        api_slot(&addr, i, &["done"], Duration::from_secs(60));
    }
    let pulled = api_slot(&addr, 1, &["failed"], Duration::from_secs(60));
    assert_eq!(pulled["kind"], "pulled", "{pulled}");
    let d = page_shows(&mut b, Duration::from_secs(20), |d| {
        states(d) == ["done", "failed", "done", "done"] && d["pass"] == 3 && d["fail"] == 1
    });
    assert_eq!(d["slots"][1]["kind"], "pulled");
    assert!(
        d["slots"][1]["text"]
            .as_str()
            .expect("text")
            .contains("写入时存储卡被拔出"),
        "{d}"
    );
    b.screenshot(&shots().join(format!("{name}-3-pulled.png")));
    says(
        &mut b,
        "en",
        1,
        "failed",
        &["FAILED", "taken out while being written"],
    );
    says(
        &mut b,
        "zh-CN",
        1,
        "failed",
        &["写入时存储卡被拔出", "身份已隔离"],
    );

    // A card left in its slot after it is done is not written again.
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(states(&dom(&mut b)), ["done", "failed", "done", "done"]);
    for i in [0, 2, 3] {
        slots[i].remove(&t);
    }
    page_shows(&mut b, Duration::from_secs(20), |d| {
        states(d) == ["empty", "failed", "empty", "empty"]
    });

    // Stage 3: the other 16 cards, four at a time; the 7th is too small.
    let mut next = 4;
    let mut round = 0;
    while next < cards.len() {
        round += 1;
        let batch: Vec<usize> = (0..4).take_while(|k| next + k < cards.len()).collect();
        for &k in &batch {
            slots[k].insert(&t, &cards[next + k], &[]);
        }
        for &k in &batch {
            let s = api_slot(&addr, k, &["done", "failed"], Duration::from_secs(60));
            if next + k == 6 {
                assert_eq!(s["kind"], "too_small", "{s}");
            } else {
                assert_eq!(s["state"], "done", "{s}");
            }
        }
        if round == 1 {
            let d = page_shows(&mut b, Duration::from_secs(20), |d| {
                d["slots"][2]["kind"] == "too_small"
            });
            assert!(
                d["slots"][2]["text"]
                    .as_str()
                    .expect("text")
                    .contains("容量太小"),
                "{d}"
            );
            // English, chosen on the page.
            b.eval(r#"document.querySelector('[data-lang="en"]').click()"#);
            let d = page_shows(&mut b, Duration::from_secs(5), |d| {
                d["slots"][2]["text"]
                    .as_str()
                    .is_some_and(|t| t.contains("FAILED") && t.contains("too small"))
            });
            assert!(
                d["slots"][0]["text"]
                    .as_str()
                    .expect("text")
                    .contains("DONE"),
                "{d}"
            );
            b.screenshot(&shots().join(format!("{name}-4-too-small.png")));
        }
        for &k in &batch {
            slots[k].remove(&t);
        }
        for &k in &batch {
            api_slot(&addr, k, &["empty"], Duration::from_secs(20));
        }
        next += batch.len();
    }

    // The end: 18 passed, 2 failed, one identity left (20 - 18 - 1 quarantined).
    let d = page_shows(&mut b, Duration::from_secs(20), |d| {
        d["pass"] == 18 && d["fail"] == 2 && states(d).iter().all(|s| s == "empty" || s == "failed")
    });
    assert!(
        d["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .any(|e| e.as_str().is_some_and(|e| e.contains("too small"))),
        "{d}"
    );
    b.screenshot(&shots().join(format!("{name}-5-end.png")));
    drop(b);
    run.interrupt();
    let out = run.wait_within(Duration::from_secs(60));
    assert!(out.stderr.contains("too small"), "{}", out.stderr);

    // Restarted in the middle of the shift, the service shows the day's
    // counts from the pool and its card journal, not zeros.
    let again = st.serve(0);
    let counts = &common::http::get_json(&addr, "/api/pool")["today"];
    assert_eq!(
        (counts["pass"].as_u64(), counts["fail"].as_u64()),
        (Some(18), Some(2)),
        "{counts}"
    );
    again.interrupt();
    again.wait_within(Duration::from_secs(60));

    // Each good card holds its own identity, and each has a label whose QR
    // code is its DeviceName.
    let mut on_cards = BTreeSet::new();
    for (i, c) in cards.iter().enumerate() {
        if i == 1 || i == 6 {
            continue;
        }
        let info = common::images::inspect_json(&t, c, false);
        let dn = info["credentials"]["device_name"]
            .as_str()
            .unwrap_or_else(|| panic!("{info}"))
            .to_owned();
        assert!(on_cards.insert(dn.clone()), "{dn} is on two cards");
    }
    assert_eq!(on_cards.len(), 18);
    let small = std::fs::read(&cards[6]).expect("small card");
    assert!(small.iter().all(|b| *b == 0), "the small card was written");
    let mut labelled = BTreeSet::new();
    for dn in &on_cards {
        let png = st.labels.join(format!("a1X2bEnP82z_{dn}.png"));
        let zpl =
            std::fs::read_to_string(st.labels.join(format!("a1X2bEnP82z_{dn}.zpl"))).expect("zpl");
        assert!(zpl.contains(&format!("^FDQA,{dn}^FS")), "{zpl}");
        let o = t.tool("zbarimg").args(["-q", "--raw"]).arg(&png).run();
        labelled.insert(o.stdout.trim().to_owned());
    }
    assert_eq!(labelled, on_cards);
    let files = std::fs::read_dir(&st.labels).expect("labels").count();
    assert_eq!(files, 36, "one PNG and one ZPL per verified card, no more");
    let mut sent: Vec<String> = std::fs::read_dir(&printed)
        .expect("printed")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    sent.sort();
    let want: Vec<String> = on_cards
        .iter()
        .map(|dn| format!("a1X2bEnP82z_{dn}.zpl"))
        .collect();
    assert_eq!(sent, want, "the printer got each verified card's ZPL once");

    // The pool: the 18 verified identities are the cards', the pulled card's
    // is quarantined, one is left; no secret in the export.
    let export: serde_json::Value = t
        .cmd()
        .args(["pool", "export", "--db", &st.db, "--format", "json"])
        .output_lacks("ga7XA6KdlEeiPXQPpRbAjOZXwG8yd")
        .stdout_json();
    let of = |state: &str| -> BTreeSet<String> {
        export
            .as_array()
            .expect("export")
            .iter()
            .filter(|e| e["state"] == state)
            .map(|e| e["device_name"].as_str().expect("dn").to_owned())
            .collect()
    };
    assert_eq!(of("verified"), on_cards);
    let quarantined = of("quarantined");
    assert_eq!(quarantined.len(), 1, "{export:#}");
    assert_eq!(of("available").len(), 1, "{export:#}");
    assert!(!on_cards.contains(quarantined.iter().next().expect("one")));
    for e in export.as_array().expect("export") {
        if e["state"] == "quarantined" {
            assert_eq!(e["target"], paths[1], "{e}");
        }
    }

    // The day's record: every card leased today, with its slot, result and
    // digest, and no secret.
    let report = t
        .cmd()
        .args([
            "station",
            "report",
            "--db",
            &st.db,
            "--since",
            &today(),
            "--utc-offset",
            "+08:00",
            "--journal",
            s(&t.path().join("work/station-cards.jsonl")),
        ])
        .stdout_lacks("ga7XA6KdlEeiPXQPpRbAjOZXwG8yd")
        .run()
        .stdout;
    let mut rdr = csv::Reader::from_reader(report.as_bytes());
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.expect("a CSV row")).collect();
    let head = rdr.headers().expect("header").clone();
    let col = |name: &str| {
        head.iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no {name} column: {head:?}"))
    };
    assert_eq!(
        rows.len(),
        20,
        "every card of the day: {report}\njournal: {:?}",
        std::fs::read_to_string(t.path().join("work/station-cards.jsonl"))
    );
    let refused: Vec<&csv::StringRecord> = rows
        .iter()
        .filter(|r| &r[col("result")] == "refused")
        .collect();
    assert_eq!(refused.len(), 1, "{report}");
    assert_eq!(&refused[0][col("slot")], paths[2]);
    assert!(refused[0][col("reason")].contains("too small"), "{report}");
    assert_eq!(&refused[0][col("device_name")], "");
    let verified: BTreeSet<String> = rows
        .iter()
        .filter(|r| &r[col("result")] == "verified")
        .map(|r| {
            assert!(r[col("digest")].starts_with("blake3:"), "{r:?}");
            r[col("device_name")].to_owned()
        })
        .collect();
    assert_eq!(verified, on_cards);
    let q: Vec<&csv::StringRecord> = rows
        .iter()
        .filter(|r| &r[col("result")] == "quarantined")
        .collect();
    assert_eq!(q.len(), 1, "{report}");
    assert_eq!(&q[0][col("slot")], paths[1]);
}

/// Switches the page to `lang` (`zh-CN` or `en`) and waits until slot `i`
/// (0-based) shows `state` and says every one of `words`, in its own
/// words: in Chinese no English word, in English no Chinese character.
#[track_caller]
fn says(b: &mut Browser, lang: &str, i: usize, state: &str, words: &[&str]) -> serde_json::Value {
    b.wait_for(
        r#"!!(document.body && document.body.dataset.ready === "true")"#,
        Duration::from_secs(60),
        |v| v == true,
    );
    b.eval(&format!(
        r#"document.querySelector('[data-lang="{lang}"]').click()"#
    ));
    let d = page_shows(b, Duration::from_secs(20), |d| {
        let said = d["slots"][i]["said"].as_str().unwrap_or("");
        d["lang"] == lang
            && d["slots"][i]["state"] == state
            && words.iter().all(|w| said.contains(w))
    });
    let mut lines: Vec<String> = vec![d["slots"][i]["said"].as_str().expect("said").to_owned()];
    for e in d["errors_said"].as_array().expect("errors") {
        lines.push(e.as_str().expect("error").to_owned());
    }
    for line in &lines {
        if lang == "en" {
            assert!(
                !line.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "Chinese on the English page: {line:?}\n{d:#}"
            );
        } else {
            let english = line
                .split(|c: char| !c.is_ascii_alphabetic())
                .find(|w| w.len() >= 3);
            assert!(
                english.is_none(),
                "English ({english:?}) on the Chinese page: {line:?}\n{d:#}"
            );
        }
    }
    d
}

/// Seconds into the day at +08:00 of `hh:mm:ss` and of now.
fn clock_secs(hms: &str) -> i64 {
    let p: Vec<i64> = hms
        .split(':')
        .map(|x| x.parse().unwrap_or_else(|_| panic!("not a time: {hms}")))
        .collect();
    assert_eq!(p.len(), 3, "not a time: {hms}");
    p[0] * 3600 + p[1] * 60 + p[2]
}

#[test]
fn the_page_says_every_state_in_chinese_and_english() {
    let t = Test::new();
    let slots: Vec<Slot> = (250..253).map(Slot::new).collect();
    let paths: Vec<&str> = slots.iter().map(Slot::path).collect();
    let st = station(&t, &paths, 4, "");
    // A card already in slot 1 when the station starts: waiting, not failed.
    let held = card(&t, "held.img", 16 << 20);
    slots[0].insert(&t, &held, &[]);
    let run = st.serve(400);
    let mut b = Browser::open(&format!("http://{}/", st.addr));

    // Waiting (amber), in both languages; the service's words only under details.
    let d = says(
        &mut b,
        "zh-CN",
        0,
        "waiting",
        &["等待确认", "工位启动时卡已在槽中", "重试"],
    );
    assert_eq!(d["slots"][0]["kind"], "held");
    assert_eq!(
        d["slots"][0]["border"], "rgb(230, 155, 0)",
        "not amber: {d:#}"
    );
    assert!(
        d["slots"][0]["raw"]
            .as_str()
            .is_some_and(|r| r.contains("already in")),
        "{d:#}"
    );
    assert_eq!(d["fail"], 0, "a held card is not a failure: {d:#}");
    says(
        &mut b,
        "en",
        0,
        "waiting",
        &[
            "WAITING",
            "was in the slot when the station started",
            "Retry",
        ],
    );
    // Every sentence the page has is in both languages.
    let keys = b.eval(
        r#"JSON.stringify([Object.keys(TEXT["zh-CN"]).sort(), Object.keys(TEXT.en).sort()])"#,
    );
    let keys: (Vec<String>, Vec<String>) =
        serde_json::from_str(keys.as_str().expect("keys")).expect("keys JSON");
    assert_eq!(keys.0, keys.1, "a sentence in one language only");
    for kind in [
        "not_block",
        "system_disk",
        "in_use",
        "read_only",
        "too_small",
        "held",
        "pool_empty",
        "pool_unavailable",
        "stopped",
        "pulled",
        "removed",
        "write_failed",
        "internal",
        "unreadable",
        "journal_failed",
        "label_failed",
        "print_failed",
        "waiting",
        "do_not_pull",
    ] {
        assert!(keys.0.iter().any(|k| k == kind), "no sentence for {kind}");
    }

    // Empty.
    says(&mut b, "zh-CN", 1, "empty", &["空", "请插入存储卡"]);
    says(&mut b, "en", 1, "empty", &["EMPTY", "Insert a card"]);

    // Writing and verifying: do not pull the card.
    let good = card(&t, "good.img", 16 << 20);
    slots[1].insert(&t, &good, &[]);
    says(
        &mut b,
        "zh-CN",
        1,
        "writing",
        &["写入中", "请勿拔卡", "MB/s"],
    );
    says(
        &mut b,
        "en",
        1,
        "writing",
        &["WRITING", "Do not remove the card"],
    );
    b.screenshot(&shots().join("languages-writing.png"));
    says(&mut b, "zh-CN", 1, "verifying", &["校验中", "请勿拔卡"]);
    says(
        &mut b,
        "en",
        1,
        "verifying",
        &["VERIFYING", "Do not remove the card"],
    );
    // Done.
    says(&mut b, "zh-CN", 1, "done", &["完成", "请取出存储卡"]);
    let d = says(&mut b, "en", 1, "done", &["DONE", "Take the card out"]);
    assert!(
        d["slots"][1]["text"]
            .as_str()
            .is_some_and(|t| t.contains("gw-0001")),
        "{d:#}"
    );

    // Failed: the reason in words, the service's message (bytes, MB) under details.
    let small = card(&t, "small.img", 4 << 20);
    slots[2].insert(&t, &small, &[]);
    let d = says(&mut b, "zh-CN", 2, "failed", &["失败", "容量太小", "重试"]);
    assert!(
        d["slots"][2]["raw"]
            .as_str()
            .is_some_and(|r| r.contains("too small") && r.contains("bytes")),
        "{d:#}"
    );
    let first = d["errors_said"][0].as_str().expect("an error").to_owned();
    assert!(first.contains("容量太小"), "{d:#}");
    // Its time is the station's (+08:00), not the browser's (UTC).
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs() as i64;
    let shown = clock_secs(first.split(' ').next().expect("time"));
    let want = (now + 8 * 3600).rem_euclid(86_400);
    let off = (shown - want)
        .rem_euclid(86_400)
        .min((want - shown).rem_euclid(86_400));
    assert!(off <= 60, "the error's time {first:?} is not now at +08:00");
    assert!(
        d["zone"].as_str().is_some_and(|z| z.contains("UTC+08:00")),
        "{d:#}"
    );
    let d = says(&mut b, "en", 2, "failed", &["FAILED", "too small", "Retry"]);
    assert!(
        d["errors_said"][0]
            .as_str()
            .is_some_and(|e| e.contains("The card is too small")),
        "{d:#}"
    );
    b.screenshot(&shots().join("languages-en.png"));
    says(&mut b, "zh-CN", 2, "failed", &["容量太小"]);
    b.screenshot(&shots().join("languages-zh.png"));

    drop(b);
    run.interrupt();
    run.wait_within(Duration::from_secs(60));
}
