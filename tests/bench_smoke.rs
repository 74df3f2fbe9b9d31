//! A small run of the benchmark script, so that it keeps working. It checks
//! that every contender ran and every ratio was computed; it asserts nothing
//! about speed (CI machines are noisy, and this is not a timed test). Needs
//! root and genimage, dosfstools, mtools, xfsprogs, time.

mod common;

use common::*;

#[test]
fn bench_script_runs_all_contenders() {
    let t = Test::new();
    let o = t
        .tool("bash")
        .arg(repo_root().join("scripts/bench.sh"))
        .arg("--quick")
        .current_dir(repo_root())
        .env("BENCH_DIR", t.path())
        .env("BURNLINE_BIN", burnline_bin())
        .stdout_contains("W1 xfs N=30: burnline --digest blake3")
        .stdout_contains("W2 peak RSS, N=500:")
        .stdout_contains("burnline check, 500-row CSV:")
        .run();
    let out = &o.stdout;
    for (w, fs, label) in [
        ("W1", "ext4", "sha256"),
        ("W1", "ext4", "blake3"),
        ("W1", "xfs", "sha256"),
        ("W1", "xfs", "blake3"),
        ("W2", "ext4", "station"),
        ("W2", "xfs", "station"),
    ] {
        let line = out
            .lines()
            .find(|l| l.split_whitespace().take(3).eq([w, fs, label]))
            .unwrap_or_else(|| panic!("no {w} {fs} {label} row in:\n{out}"));
        let cols: Vec<&str> = line.split_whitespace().skip(3).collect();
        assert_eq!(cols.len(), 8, "{line}");
        // The reflink floor's columns apply to W1 on XFS only.
        let reflink = w == "W1" && fs == "xfs";
        for (i, c) in cols.iter().enumerate() {
            if (i == 3 || i == 7) && !reflink {
                assert_eq!(*c, "-", "{line}");
            } else {
                let v: f64 = c
                    .parse()
                    .unwrap_or_else(|_| panic!("not a number: {c} in {line}"));
                assert!(v.is_finite() && v > 0.0, "{line}");
            }
        }
    }
}
