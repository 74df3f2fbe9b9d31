//! A small run of the benchmark script, so that it keeps working. It checks
//! that every contender ran and every ratio was computed; it asserts nothing
//! about speed (CI machines are noisy, and this is not a timed test). Needs
//! root and genimage, dosfstools, mtools, xfsprogs, time.

use std::process::Command;

#[test]
fn bench_script_runs_all_contenders() {
    let work = tempfile::tempdir().expect("tmp");
    let root = env!("CARGO_MANIFEST_DIR");
    let o = Command::new("bash")
        .arg(format!("{root}/scripts/bench.sh"))
        .arg("--quick")
        .env("BENCH_DIR", work.path())
        .env("BURNLINE_BIN", env!("CARGO_BIN_EXE_burnline"))
        .output()
        .expect("run scripts/bench.sh");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "bench.sh failed:\n{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for (w, fs) in [("W1", "ext4"), ("W1", "xfs"), ("W2", "ext4"), ("W2", "xfs")] {
        let line = out
            .lines()
            .find(|l| l.starts_with(w) && l.split_whitespace().nth(1) == Some(fs))
            .unwrap_or_else(|| panic!("no {w} {fs} row in:\n{out}"));
        let cols: Vec<f64> = line
            .split_whitespace()
            .skip(2)
            .map(|c| c.parse().expect("a number"))
            .collect();
        assert_eq!(cols.len(), 6, "{line}");
        assert!(cols.iter().all(|c| c.is_finite() && *c > 0.0), "{line}");
    }
    assert!(out.contains("W2 peak RSS, N=500:"), "{out}");
    assert!(out.contains("burnline check, 500-row CSV:"), "{out}");
}
