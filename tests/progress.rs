//! `build`'s progress (issue 26, point 6): counted per device; in a pipe a
//! start line, a line every few seconds while devices are built, rates
//! rounded; the summary on a line of its own, counting the images built and
//! those an earlier run had done; `-q` and `--no-progress` silence the
//! progress, `-v` adds a line per device. The slow builds use the
//! `build-device` sleep point (`--features burnline/failpoints`).

mod common;

use common::fixtures::fixture;
use common::*;

/// `burnline build` of the small fixture with `n` devices, one at a time.
fn build(n: usize) -> Test {
    let t = Test::new();
    fixture(t.path(), n, "");
    t.args([
        "build",
        "recipe.yaml",
        "--devices",
        "devices.csv",
        "--out",
        "out",
        "--jobs",
        "1",
    ])
}

/// The plain progress lines (`burnline: K/N devices done (…), R devices/s…`).
fn progress_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("burnline: ") && l.contains(" devices done ("))
        .collect()
}

/// K of a progress line `burnline: K/N devices done …`.
fn done_of(line: &str) -> usize {
    line.trim_start_matches("burnline: ")
        .split('/')
        .next()
        .and_then(|k| k.parse().ok())
        .unwrap_or_else(|| panic!("no count in {line:?}"))
}

#[test]
fn a_pipe_gets_a_start_line_lines_every_few_seconds_and_the_summary() {
    // Six devices of 1.5 s each: one batch, about 9 s. Progress counted per
    // batch would show nothing until the end.
    let o = build(6)
        .env("FAILPOINTS", "build-device=sleep(1500)")
        .stderr_contains("burnline: building 6 device(s)")
        .run();
    let lines: Vec<&str> = o.stderr.lines().collect();
    let start = lines
        .iter()
        .position(|l| *l == "burnline: building 6 device(s)")
        .expect("start line");
    let progress = progress_lines(&o.stderr);
    let first = lines
        .iter()
        .position(|l| Some(l) == progress.first())
        .expect("a progress line");
    assert!(start < first, "the start line comes first:\n{}", o.stderr);
    // Lines while the batch is built, each counting more devices.
    let during: Vec<usize> = progress
        .iter()
        .map(|l| done_of(l))
        .filter(|&k| k < 6)
        .collect();
    assert!(
        during.len() >= 2 && during.iter().any(|&k| k > 0),
        "lines every few seconds, per device:\n{}",
        o.stderr
    );
    assert!(during.windows(2).all(|w| w[0] <= w[1]), "{}", o.stderr);
    // Not a line a second: a few seconds apart.
    assert!(progress.len() <= 6, "too many lines:\n{}", o.stderr);
    // Rates rounded: one decimal below 10.
    for l in &progress {
        let rate = l
            .split(", ")
            .find_map(|p| p.strip_suffix(" devices/s"))
            .unwrap_or_else(|| panic!("no rate in {l:?}"));
        let decimals = rate.split('.').nth(1).map_or(0, str::len);
        assert!(decimals <= 1, "rate not rounded: {l:?}");
    }
    // The last progress line, then the summary on its own line.
    assert!(progress
        .last()
        .is_some_and(|l| l.starts_with("burnline: 6/6 devices done (0 failed), ")));
    assert_eq!(
        lines.last().copied(),
        Some("burnline: built 6 image(s) in out"),
        "{}",
        o.stderr
    );
}

#[test]
fn the_summary_counts_resumed_and_built_images_and_v_names_each_device() {
    // 70 devices: the first batch (64) is journaled, then the run crashes.
    let t = build(70);
    t.clone()
        .env("FAILPOINTS", "build-after-journal=return")
        .signal(6)
        .run();
    let o = t
        .clone()
        .arg("-v")
        .stderr_contains("burnline: device gw-0001: already done (resumed) (")
        .stderr_contains("burnline: device gw-0070: built (")
        .run();
    assert_eq!(
        o.stderr
            .lines()
            .filter(|l| l.starts_with("burnline: device gw-"))
            .count(),
        70,
        "one line per device:\n{}",
        o.stderr
    );
    assert!(
        o.stderr.lines().any(|l| l
            == "burnline: built 6 image(s) in out; 64 more were done by an earlier run (resumed)"),
        "{}",
        o.stderr
    );
}

#[test]
fn quiet_and_no_progress_silence_progress() {
    let t = build(3);
    let o = t.clone().arg("--no-progress").run();
    assert_eq!(
        o.stderr, "burnline: built 3 image(s) in out\n",
        "only the summary"
    );
    let o = t.clone().arg("-q").run();
    assert_eq!(o.stderr, "", "nothing at all");
    // Without them: the start line, the progress, the summary.
    let o = t.clone().run();
    assert!(
        o.stderr.starts_with("burnline: building 3 device(s)\n"),
        "{}",
        o.stderr
    );
    assert!(!progress_lines(&o.stderr).is_empty(), "{}", o.stderr);
    // --no-progress -v: the device lines alone, and the summary.
    let o = t.clone().args(["--no-progress", "-v"]).run();
    assert_eq!(
        o.stderr,
        "burnline: device gw-0001: built (1/3)\n\
         burnline: device gw-0002: built (2/3)\n\
         burnline: device gw-0003: built (3/3)\n\
         burnline: built 3 image(s) in out\n"
    );
    t.clone()
        .args(["-q", "-v"])
        .status(2)
        .stderr_contains("cannot be used with")
        .run();
}

#[test]
fn a_terminal_bar_ends_before_the_summary_line() {
    let t = Test::new();
    fixture(t.path(), 3, "");
    // `script` (util-linux) runs the build on a pseudo-terminal.
    let cmd = format!(
        "'{}' build recipe.yaml --devices devices.csv --out out",
        s(&burnline_bin())
    );
    let o = t
        .tool("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output_contains("3/3 devices")
        .run();
    let text = o.text();
    // The bar redraws with \r; the summary starts a line of its own.
    assert!(
        text.split(['\r', '\n'])
            .any(|l| l == "burnline: built 3 image(s) in out"),
        "{text:?}"
    );
    // Rounded on the bar too.
    let long_decimals = |w: &str| {
        let w = w.trim_end_matches("/s");
        w.split_once('.').is_some_and(|(a, b)| {
            !a.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.len() > 1
                && b.bytes().all(|c| c.is_ascii_digit())
        })
    };
    assert!(!text.split_whitespace().any(long_decimals), "{text:?}");
}
