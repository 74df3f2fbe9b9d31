//! The one exit map (issue 24, point 3; issue 26, point 8): the page
//! docs/exit-codes.md is the map's table (`burnline::exit`), every row and
//! every case line, and `burnline generate exit-codes` prints it; a panic,
//! in the main thread or in a rayon worker of `build`, is one line and the
//! internal-error code, nothing else; a panic in a station's slot is that
//! line too, and the station goes on (the panic points are the tests'
//! failpoints, `--features burnline/failpoints`).

mod common;

use burnline::exit::{Case, Code};
use common::fixtures::fixture;
use common::slots::Slot;
use common::station::{api_slot, card, station, wait_listening};
use common::*;
use std::time::Duration;

/// The checked-in page.
fn page() -> String {
    std::fs::read_to_string(repo_root().join("docs/exit-codes.md")).expect("docs/exit-codes.md")
}

#[test]
fn every_code_and_case_of_the_page_comes_from_the_map_and_back() {
    let page = page();
    let rows: Vec<String> = Code::ALL
        .iter()
        .map(|c| format!("| {} | {} | {} |", c.number(), c.name(), c.meaning()))
        .collect();
    let mut expected: Vec<String> = rows.clone();
    let mut section = None;
    for line in page.lines() {
        if let Some(head) = line.strip_prefix("## ") {
            section = Code::ALL
                .into_iter()
                .find(|c| head == format!("{}: {}", c.number(), c.name()));
            assert!(section.is_some(), "a section of no code: {line}");
        } else if let Some(case) = line.strip_prefix("- ") {
            let code = section.unwrap_or_else(|| panic!("a case before any code: {line}"));
            assert!(
                Case::ALL
                    .iter()
                    .any(|k| k.code() == code && k.line() == case),
                "a case line the map does not have under {}: {line}",
                code.number()
            );
        } else if line.starts_with("| ") && !line.starts_with("| code ") {
            assert!(
                rows.contains(&line.to_owned()),
                "a row the map does not have: {line}"
            );
        }
    }
    expected.extend(Case::ALL.iter().map(|k| format!("- {}", k.line())));
    for line in &expected {
        assert_eq!(
            page.lines().filter(|l| l == line).count(),
            1,
            "not once in docs/exit-codes.md (run `burnline generate exit-codes > docs/exit-codes.md`): {line}"
        );
    }
    // Every code has a case.
    for c in Code::ALL {
        assert!(Case::ALL.iter().any(|k| k.code() == c), "{c:?}");
    }
}

#[test]
fn generate_exit_codes_prints_the_page() {
    let o = Test::new().args(["generate", "exit-codes"]).run();
    assert!(
        o.stdout == page(),
        "docs/exit-codes.md differs from `burnline generate exit-codes`: regenerate it"
    );
}

/// The one line of a panic, and nothing else on stderr.
fn assert_one_internal_error_line(stderr: &str, message: &str) {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line, nothing else:\n{stderr}");
    let line = lines[0];
    let prefix = format!("burnline: internal error: {message} (at ");
    assert!(line.starts_with(&prefix), "{line}");
    assert!(
        line.ends_with("); this is a bug, please report it"),
        "{line}"
    );
    // `(at FILE:LINE)`: a source file and a line number.
    let at = &line[prefix.len()..line.len() - "); this is a bug, please report it".len()];
    let (file, number) = at.rsplit_once(':').unwrap_or_else(|| panic!("{line}"));
    assert!(file.ends_with(".rs"), "{line}");
    assert!(number.parse::<u32>().is_ok(), "{line}");
}

#[test]
fn a_panic_in_a_command_is_one_line_and_the_internal_error_code() {
    let t = Test::new();
    fixture(t.path(), 2, "");
    let o = t
        .cmd()
        .args([
            "build",
            "recipe.yaml",
            "--devices",
            "devices.csv",
            "--out",
            "out",
            "-q",
        ])
        .env("FAILPOINTS", "build-after-base=panic(the base went wrong)")
        .status(i32::from(Code::Internal.number()))
        .stdout("")
        .run();
    assert_one_internal_error_line(&o.stderr, "the base went wrong");
    assert_eq!(Code::Internal.number(), 70);
}

#[test]
fn a_panic_in_a_rayon_worker_of_build_ends_the_run_with_one_line() {
    let t = Test::new();
    fixture(t.path(), 16, "");
    let o = t
        .cmd()
        .args([
            "build",
            "recipe.yaml",
            "--devices",
            "devices.csv",
            "--out",
            "out",
            "--jobs",
            "4",
            "-q",
        ])
        .env("FAILPOINTS", "build-device=panic(a worker went wrong)")
        .status(i32::from(Code::Internal.number()))
        .stdout("")
        .spawn()
        .wait_within(Duration::from_secs(60));
    assert_one_internal_error_line(&o.stderr, "a worker went wrong");
    // No image under its final name.
    assert!(!t.path().join("out/gw-0001.img").exists());
}

#[test]
fn a_panic_in_a_station_slot_is_one_line_and_the_station_goes_on() {
    let t = Test::new();
    let slot = Slot::new(245);
    let st = station(&t, &[slot.path()], 2, "");
    let run =
        st.t.cmd()
            .args(["station", "serve", "--config", s(&st.config)])
            .env(
                "FAILPOINTS",
                "station-write-progress=panic(a slot went wrong)",
            )
            .spawn();
    wait_listening(&st.addr);
    let c = card(&t, "card.img", 16 << 20);
    slot.insert(&t, &c, &[]);
    let failed = api_slot(&st.addr, 0, &["failed"], Duration::from_secs(60));
    assert!(
        failed.to_string().contains("internal error"),
        "the slot says why: {failed}"
    );
    // Still serving after the panic.
    api_slot(&st.addr, 0, &["failed"], Duration::from_secs(1));
    slot.remove(&t);
    run.interrupt();
    let o = run.wait_within(Duration::from_secs(60));
    let lines: Vec<&str> = o
        .stderr
        .lines()
        .filter(|l| l.starts_with("burnline: internal error"))
        .collect();
    assert_eq!(lines.len(), 1, "{}", o.stderr);
    assert!(
        lines[0].starts_with("burnline: internal error: a slot went wrong (at "),
        "{}",
        o.stderr
    );
    assert!(!o.stderr.contains("panicked"), "{}", o.stderr);
}

/// `flash --recipe` (the programmer station) writes several cards at once;
/// a panic in one writer thread (right after its `written` record) fails
/// that card, prints the one line, and the batch ends as a batch with
/// failed cards.
#[test]
fn a_panic_in_a_flash_writer_fails_its_target_and_the_batch_goes_on() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 2, "");
    let ledger = d.join("ledger.jsonl");
    let o = t
        .cmd()
        .args(["flash", "--recipe", s(&r), "--devices", s(&c)])
        .args([
            "--ledger",
            s(&ledger),
            "--target",
            "a.img",
            "--target",
            "b.img",
        ])
        .env(
            "FAILPOINTS",
            "station-ledger-after-written=panic(a writer went wrong)",
        )
        .status(1)
        .stderr_contains("2 of 2 target(s) failed")
        .stderr_lacks("panicked")
        .run();
    let lines: Vec<&str> = o
        .stderr
        .lines()
        .filter(|l| l.starts_with("burnline: internal error: a writer went wrong (at "))
        .collect();
    assert_eq!(lines.len(), 2, "one line per writer:\n{}", o.stderr);
}
