//! Resume: builds killed with SIGKILL at seeded random moments, then rerun
//! with the same command, end with every output identical to a clean
//! build's; a SIGINT lets the batch in flight finish, exits 130, and the
//! rerun finishes the rest; a damaged line in the middle of the journal
//! stops the rerun with its file and line. No timing is asserted: the
//! delays only vary where the kill lands.

mod station_common;
use station_common::*;
use std::path::Path;
use std::process::{Command, Stdio};

fn outputs(dir: &Path) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .map(|n| (sha(&dir.join(&n)), n))
        .map(|(h, n)| (n, h))
        .collect();
    v.sort();
    v
}

/// Sends SIGINT to a child.
fn sigint(child: &std::process::Child) {
    let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("pid");
    rustix::process::kill_process(pid, rustix::process::Signal::INT).expect("SIGINT");
}

fn build_cmd(r: &Path, c: &Path, out: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args([
        "build",
        s(r),
        "--devices",
        s(c),
        "--out",
        s(out),
        "--bmap",
        "--compress",
        "gzip",
    ]);
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    cmd
}

#[test]
fn sigkill_at_random_moments_then_rerun_matches_a_clean_build() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    let (r, c) = fixture(d, 100, "");
    let clean = d.join("clean");
    let started = std::time::Instant::now();
    assert!(build_cmd(&r, &c, &clean).status().expect("clean").success());
    // Kill times are drawn within a clean run's duration (not asserted on).
    let span = (started.elapsed().as_millis() as u64).max(50);
    let want = outputs(&clean);
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..4 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let out = d.join(format!("run{round}"));
        // Several kills into the same directory, then one run to the end.
        for _ in 0..2 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut child = build_cmd(&r, &c, &out).spawn().expect("spawn");
            std::thread::sleep(std::time::Duration::from_millis(seed % span));
            let _ = child.kill(); // SIGKILL
            let _ = child.wait();
        }
        assert!(
            build_cmd(&r, &c, &out).status().expect("rerun").success(),
            "round {round}: rerun"
        );
        assert_eq!(
            outputs(&out),
            want,
            "round {round}: outputs differ from the clean build"
        );
        let left: Vec<String> = std::fs::read_dir(&out)
            .expect("dir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != ".burnline.lock")
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(left.is_empty(), "round {round}: leftovers {left:?}");
    }
}

#[test]
fn first_sigint_finishes_the_batch_and_exits_130_then_rerun_completes() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    let (r, c) = fixture(d, 200, "");
    let clean = d.join("clean");
    assert!(build_cmd(&r, &c, &clean).status().expect("clean").success());
    let out = d.join("out");
    let mut child = build_cmd(&r, &c, &out).spawn().expect("spawn");
    let journal = out.join(".manifest.partial.jsonl");
    // Wait until the first batch is journaled (the handler is installed by then).
    while std::fs::read_to_string(&journal).map_or(0, |t| t.lines().count()) < 2 {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    sigint(&child);
    let status = child.wait().expect("wait");
    assert_eq!(
        status.code(),
        Some(130),
        "first SIGINT: finish the batch, exit 130"
    );
    assert!(
        !out.join("manifest.json").exists(),
        "no final manifest for an interrupted run"
    );
    let done = std::fs::read_to_string(&journal)
        .expect("journal")
        .lines()
        .count()
        - 1;
    assert!(done > 0 && done < 200, "journaled {done}");
    assert!(build_cmd(&r, &c, &out).status().expect("rerun").success());
    assert_eq!(outputs(&out), outputs(&clean));
    assert!(
        !journal.exists(),
        "journal removed once the manifest is in place"
    );
}

#[test]
fn second_sigint_exits_at_once_with_130() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    let (r, c) = fixture(d, 200, "");
    let out = d.join("out");
    let mut child = build_cmd(&r, &c, &out).spawn().expect("spawn");
    // The journal exists once the handlers are installed.
    while !out.join(".manifest.partial.jsonl").exists() && child.try_wait().expect("wait").is_none()
    {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    sigint(&child);
    sigint(&child);
    assert_eq!(child.wait().expect("wait").code(), Some(130));
    assert!(!out.join("manifest.json").exists());
}

#[test]
fn crash_after_each_durable_step_then_rerun_matches_a_clean_build() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    let (r, c) = fixture(d, 70, "");
    let clean = d.join("clean");
    assert!(build_cmd(&r, &c, &clean).status().expect("clean").success());
    let want = outputs(&clean);
    for fp in [
        "build-after-base",
        "build-after-rename",
        "build-after-journal",
        "build-after-manifest",
    ] {
        let out = d.join(fp);
        let crashed = build_cmd(&r, &c, &out)
            .env("FAILPOINTS", format!("{fp}=return"))
            .status()
            .expect("run");
        assert!(!crashed.success(), "{fp}: the failpoint did not fire");
        assert!(
            build_cmd(&r, &c, &out).status().expect("rerun").success(),
            "{fp}: rerun"
        );
        assert_eq!(
            outputs(&out),
            want,
            "{fp}: outputs differ from the clean build"
        );
    }
}

#[test]
fn a_damaged_middle_line_of_the_journal_stops_the_rerun_with_its_line() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    let (r, c) = fixture(d, 70, "");
    let clean = d.join("clean");
    assert!(build_cmd(&r, &c, &clean).status().expect("clean").success());
    let out = d.join("out");
    // Dies once the first batch (64 devices) is journaled.
    let crashed = build_cmd(&r, &c, &out)
        .env("FAILPOINTS", "build-after-journal=return")
        .status()
        .expect("run");
    assert!(!crashed.success());
    let journal = out.join(".manifest.partial.jsonl");
    let good = std::fs::read_to_string(&journal).expect("journal");
    assert_eq!(good.lines().count(), 65);
    let before = outputs(&out);
    let bad: String = good
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 9 {
                format!("{}\n", &l[5..])
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(&journal, &bad).expect("damage");
    let o = build_cmd(&r, &c, &out)
        .stderr(Stdio::piped())
        .output()
        .expect("rerun");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("{}:10: ", journal.display())),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&journal).expect("journal"), bad);
    assert_eq!(outputs(&out), before, "nothing was built or removed");
    std::fs::write(&journal, &good).expect("restore");
    assert!(build_cmd(&r, &c, &out).status().expect("rerun").success());
    assert_eq!(outputs(&out), outputs(&clean));
}
