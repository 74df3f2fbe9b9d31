//! The field's conventions, across commands: a missing input file is exit 2
//! everywhere; a flash batch with some failed targets is exit 1; `--json`
//! on `check`, `plan` and `verify`; `BURNLINE_DB` for `--db`; `station
//! report --since today|yesterday`; `build` without `--out` never mixes two
//! batches in `out`; piped lines of `flash` carry their time.

mod common;

use common::fixtures::fixture;
use common::pool_line::tiny;
use common::*;

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

#[test]
fn a_missing_input_file_is_exit_2_on_every_command() {
    let t = Test::new();
    let runs: &[&[&str]] = &[
        &["check", "no.yaml", "--devices", "no.csv"],
        &["plan", "no.yaml"],
        &["build", "no.yaml", "--devices", "no.csv", "--out", "o"],
        &["verify", "nodir"],
        &["inspect", "no.img"],
        &["flash", "no.img", "--target", "t.img"],
        &["manifest", "merge", "nodir", "--out", "m"],
        &["ledger", "verify", "no.jsonl"],
        &["login-check", "no.yaml", "--devices", "no.csv"],
        &["station", "serve", "--config", "no.yaml"],
    ];
    for args in runs {
        t.cmd()
            .args(*args)
            .status(2)
            .stderr_contains("no")
            .stderr_lacks("panicked")
            .run();
    }
    t.emulator()
        .args(["--products", "no.yaml", "--listen", "127.0.0.1:0"])
        .status(2)
        .stderr_contains("no.yaml")
        .stderr_lacks("panicked")
        .run();
}

#[test]
fn a_flash_batch_with_a_failed_target_is_exit_1() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 1, "");
    t.cmd()
        .args(["build", s(&r), "--devices", s(&c), "--out", "o"])
        .run();
    let small = d.join("small.img");
    std::fs::write(&small, vec![7u8; 1 << 20]).expect("small card");
    let out = t
        .cmd()
        .args(["flash", "o/gw-0001.img", "--target", "good.img"])
        .args(["--target", s(&small)])
        .status(1)
        .stderr_contains("1 of 2 target(s) failed")
        .stderr_contains("too small")
        .run();
    // Piped, each line starts with its time (UTC, RFC 3339).
    for line in out.stderr.lines() {
        let (at, _) = line.split_once(' ').expect("a stamped line");
        assert!(
            at.len() == 25 && at.ends_with("+00:00") && at.as_bytes()[10] == b'T',
            "not stamped: {line}"
        );
    }
    assert_eq!(
        common::images::sha(&d.join("good.img")),
        common::images::sha(&d.join("o/gw-0001.img"))
    );
}

#[test]
fn check_plan_and_verify_speak_json() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 2, "");
    let out = t
        .cmd()
        .args(["check", s(&r), "--devices", s(&c), "--json"])
        .run();
    let v = json(&out.stdout);
    assert_eq!(v["ok"], true);
    assert_eq!(v["devices"], 2);
    assert_eq!(v["partitions"], 3);
    assert_eq!(v["disk_size"], 8 << 20);
    assert!(v["warnings"].is_array(), "{v}");

    let v = json(&t.cmd().args(["plan", s(&r), "--json"]).run().stdout);
    assert_eq!(v["table"], "gpt");
    assert_eq!(v["disk_size"], 8 << 20);
    let parts = v["partitions"].as_array().expect("partitions");
    let names: Vec<&str> = parts.iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(names, ["boot", "creds", "data"]);
    assert_eq!(parts[1]["size"], 1 << 20);
    assert_eq!(parts[1]["content"], "credentials (record)");

    t.cmd()
        .args(["build", s(&r), "--devices", s(&c), "--out", "o"])
        .run();
    let v = json(&t.cmd().args(["verify", "o", "--json"]).run().stdout);
    assert_eq!(v["ok"], true);
    assert_eq!(v["files"], 2);
    assert_eq!(v["mismatches"], serde_json::json!([]));
    std::fs::write(d.join("o/gw-0002.img"), b"not the image").expect("spoil");
    let out = t.cmd().args(["verify", "o", "--json"]).status(1).run();
    let v = json(&out.stdout);
    assert_eq!(v["ok"], false);
    assert_eq!(v["mismatches"][0]["file"], "gw-0002.img");
    assert!(
        v["mismatches"][0]["problem"]
            .as_str()
            .is_some_and(|p| p.contains("manifest says")),
        "{v}"
    );
}

#[test]
fn burnline_db_stands_in_for_db_and_report_takes_today() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = tiny(d, 2);
    let db = format!("sqlite:{}", d.join("pool.db").display());
    t.cmd()
        .env("BURNLINE_DB", &db)
        .args(["pool", "init", "--key-file", "pool.key"])
        .run();
    t.cmd()
        .env("BURNLINE_DB", &db)
        .args(["pool", "import", s(&r), "--devices", s(&c), "--key-file"])
        .arg("pool.key")
        .run();
    let v = json(
        &t.cmd()
            .env("BURNLINE_DB", &db)
            .args(["pool", "status", "--json"])
            .run()
            .stdout,
    );
    assert_eq!(v["states"]["available"], 2, "{v}");
    // --db still wins over the environment.
    t.cmd()
        .env("BURNLINE_DB", "sqlite:elsewhere.db")
        .args(["pool", "status", "--db", &db])
        .run();
    for since in ["today", "yesterday"] {
        t.cmd()
            .env("BURNLINE_DB", &db)
            .args(["station", "report", "--since", since])
            .stdout_contains("product_key,device_name,result")
            .stderr_contains("station report: 0 card(s)")
            .run();
    }
    t.cmd()
        .env("BURNLINE_DB", &db)
        .args(["station", "report", "--since", "tomorrow"])
        .status(2)
        .stderr_contains("today, yesterday")
        .run();
    t.cmd()
        .env_remove("BURNLINE_DB")
        .args(["pool", "status"])
        .status(2)
        .stderr_contains("--db")
        .run();
}

#[test]
fn build_without_out_never_mixes_two_batches() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 2, "");
    t.cmd().args(["build", s(&r), "--devices", s(&c)]).run();
    assert!(d.join("out/gw-0002.img").is_file());
    let stamp = d.join("out/.burnline-batch");
    assert!(stamp.is_file(), "out names its batch");
    // The same batch again: taken.
    t.cmd()
        .args(["build", s(&r), "--devices", s(&c)])
        .stderr_contains("built 2 image(s) in out")
        .run();
    // Another device list: refused, `out` named, nothing written.
    let other = d.join("other.csv");
    std::fs::write(
        &other,
        "DeviceName,DeviceSecret,ProductKey\ngw-9999,ga7XA6KdlEeiPXQPpRbAjOZXwG8yd999,a1X2bEnP82z\n",
    )
    .expect("csv");
    t.cmd()
        .args(["build", s(&r), "--devices", s(&other)])
        .status(2)
        .stderr_contains(format!("{}: holds another batch", d.join("out").display()))
        .stderr_contains("--out DIR")
        .absent("out/gw-9999.img")
        .run();
    // Files no default build left: refused too.
    let t2 = Test::new().file("out/old.img", "an earlier batch");
    let (r, c) = fixture(t2.path(), 1, "");
    t2.cmd()
        .args(["build", s(&r), "--devices", s(&c)])
        .status(2)
        .stderr_contains("holds files that no build without --out left there")
        .absent("out/gw-0001.img")
        .run();
    // Given --out, the directory is the user's choice.
    t2.cmd()
        .args(["build", s(&r), "--devices", s(&c), "--out", "out"])
        .run();
}
