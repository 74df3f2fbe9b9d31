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
    assert!(
        out.contains("W1 xfs N=30: burnline --digest blake3"),
        "{out}"
    );
    assert!(out.contains("W2 peak RSS, N=500:"), "{out}");
    assert!(out.contains("burnline check, 500-row CSV:"), "{out}");
}
