//! Resume: builds killed with SIGKILL at seeded random moments, then rerun
//! with the same command, end with every output identical to a clean
//! build's; a SIGINT lets the batch in flight finish, exits 130, and the
//! rerun finishes the rest; a damaged line in the middle of the journal
//! stops the rerun with its file and line; batches grow for quick devices,
//! with the same outputs. No timing is asserted: the delays only vary where
//! the kill lands, or the batches' sizes.

mod common;

use common::fixtures::fixture;
use common::images::sha;
use common::*;
use std::path::Path;
use std::time::{Duration, Instant};

/// Every output in `dir` (no dot files) as (name, SHA-256), sorted.
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

/// The resumable build: `build R --devices C --out OUT --bmap --compress
/// gzip`, in `t`'s directory.
fn build(t: &Test, r: &Path, c: &Path, out: &Path) -> Test {
    t.cmd()
        .args(["build", s(r), "--devices", s(c), "--out", s(out)])
        .args(["--bmap", "--compress", "gzip"])
}

/// Waits until `ready()` or the run ends, for at most a minute.
#[track_caller]
fn wait_until(run: &mut Running, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() && !run.has_ended() {
        assert!(Instant::now() < deadline, "the build never got there");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn sigkill_at_random_moments_then_rerun_matches_a_clean_build() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 100, "");
    let clean = d.join("clean");
    let started = Instant::now();
    build(&t, &r, &c, &clean).run();
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
            // A kill may land after the run has finished: any end will do.
            let mut child = build(&t, &r, &c, &out).any_status().spawn();
            std::thread::sleep(Duration::from_millis(seed % span));
            child.kill();
            child.wait();
        }
        build(&t, &r, &c, &out).run();
        assert_eq!(
            outputs(&out),
            want,
            "round {round}: outputs differ from the clean build"
        );
        let left: Vec<String> = std::fs::read_dir(&out)
            .expect("dir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(left.is_empty(), "round {round}: leftovers {left:?}");
    }
}

#[test]
fn first_sigint_finishes_the_batch_and_exits_130_then_rerun_completes() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 200, "");
    let clean = d.join("clean");
    build(&t, &r, &c, &clean).run();
    let out = d.join("out");
    let journal = out.join(".manifest.partial.jsonl");
    // First SIGINT: finish the batch, exit 130, and no final manifest for
    // an interrupted run.
    let mut child = build(&t, &r, &c, &out)
        .status(130)
        .absent(out.join("manifest.json"))
        .spawn();
    // Wait until the first batch is journaled (the handler is installed by then).
    wait_until(&mut child, || {
        std::fs::read_to_string(&journal).map_or(0, |t| t.lines().count()) >= 2
    });
    child.interrupt();
    child.wait();
    let done = std::fs::read_to_string(&journal)
        .expect("journal")
        .lines()
        .count()
        - 1;
    assert!(done > 0 && done < 200, "journaled {done}");
    // The journal is removed once the manifest is in place.
    build(&t, &r, &c, &out).absent(&journal).run();
    assert_eq!(outputs(&out), outputs(&clean));
}

#[test]
fn second_sigint_exits_at_once_with_130() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 200, "");
    let out = d.join("out");
    let mut child = build(&t, &r, &c, &out)
        .status(130)
        .absent(out.join("manifest.json"))
        .spawn();
    // The journal exists once the handlers are installed.
    wait_until(&mut child, || out.join(".manifest.partial.jsonl").exists());
    child.interrupt();
    child.interrupt();
    child.wait();
}

#[test]
fn crash_after_each_durable_step_then_rerun_matches_a_clean_build() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 70, "");
    let clean = d.join("clean");
    build(&t, &r, &c, &clean).run();
    let want = outputs(&clean);
    for fp in [
        "build-after-base",
        "build-after-rename",
        "build-after-journal",
        "build-after-manifest",
    ] {
        let out = d.join(fp);
        // SIGABRT: the failpoint fired.
        build(&t, &r, &c, &out)
            .env("FAILPOINTS", format!("{fp}=return"))
            .signal(6)
            .run();
        build(&t, &r, &c, &out).run();
        assert_eq!(
            outputs(&out),
            want,
            "{fp}: outputs differ from the clean build"
        );
    }
}

#[test]
fn a_damaged_middle_line_of_the_journal_stops_the_rerun_with_its_line() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 70, "");
    let clean = d.join("clean");
    build(&t, &r, &c, &clean).run();
    let out = d.join("out");
    // Dies once the first batch (64 devices) is journaled.
    build(&t, &r, &c, &out)
        .env("FAILPOINTS", "build-after-journal=return")
        .signal(6)
        .run();
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
    build(&t, &r, &c, &out)
        .status(2)
        .error_line(format!("{}:10: ", journal.display()))
        .run();
    assert_eq!(std::fs::read_to_string(&journal).expect("journal"), bad);
    assert_eq!(outputs(&out), before, "nothing was built or removed");
    std::fs::write(&journal, &good).expect("restore");
    build(&t, &r, &c, &out).run();
    assert_eq!(outputs(&out), outputs(&clean));
}

/// Slow devices stay in durable batches of 64, quick ones go in growing
/// batches (counted as `syncfs` calls, traced with strace); the outputs,
/// manifest included, are the same bytes either way.
#[test]
fn batches_grow_for_quick_devices_and_the_outputs_do_not_depend_on_them() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 600, "");
    // `build --deltas` into `out`, traced, with `extra` arguments and the
    // `build-device` failpoint's `action`; the `syncfs` calls made.
    let syncfs = |out: &Path, extra: &[&str], action: &str| {
        let trace = out.with_extension("trace");
        t.tool("strace")
            .args(["-f", "-qq", "-e", "trace=syncfs", "-o", s(&trace)])
            .arg(burnline_bin())
            .args(["build", s(&r), "--devices", s(&c), "--out", s(out)])
            .arg("--deltas")
            .args(extra)
            .env("FAILPOINTS", format!("build-device={action}"))
            .run();
        std::fs::read_to_string(&trace)
            .expect("the trace")
            .lines()
            .filter(|l| l.contains("syncfs("))
            .count()
    };
    // 10 ms a device on 2 threads: at least 0.32 s a batch of 64, so the
    // batches stay at 64: ten of them.
    let slow = d.join("slow");
    let batches = syncfs(&slow, &["--jobs", "2"], "sleep(10)");
    assert_eq!(batches, 10, "syncfs for 600 slow devices in batches of 64");
    // Quick devices: 64, 128, 256, then the 152 left; fewer however loaded
    // the machine, as long as one batch of 64 builds in under 125 ms.
    let quick = d.join("quick");
    let n = syncfs(&quick, &[], "off");
    assert!(
        (1..batches).contains(&n),
        "{n} syncfs for 600 quick devices"
    );
    eprintln!("600 quick devices: {n} batches");
    assert_eq!(outputs(&slow), outputs(&quick));
}
