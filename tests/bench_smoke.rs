//! A small run of the benchmark script, so that it keeps working. It checks
//! that every contender ran and every ratio was computed; it asserts nothing
//! about speed (CI machines are noisy, and this is not a timed test). Needs
//! root and genimage, dosfstools, mtools, xfsprogs, time, bmap-tools, b3sum
//! and libfuse2 (the W3 and flashing rows of scripts/bench-w3.sh).

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
        .stdout_contains("burnline rate/synced rfloor rate ")
        .stdout_contains("W1 ext4 sha256: SHA-256 bound ")
        .stdout_contains("W1 xfs sha256: SHA-256 bound ")
        .stdout_contains("genimage followed by sha256sum")
        .stdout_contains("W2 peak RSS, N=500:")
        .stdout_contains("burnline check, 500-row CSV:")
        .stdout_contains("W3 xfs station (--station): t(1) ")
        .stdout_contains("W3 xfs full (--digest blake3): t(1) ")
        .stdout_contains("W3 ext4 station (--station): t(1) ")
        .stdout_contains("W3 ext4 full (--digest blake3): t(1) ")
        .stdout_contains("W3 xfs defaults (SHA-256): N=2 ")
        .stdout_contains("W3 peak RSS, N=4: station ")
        .stdout_contains("flash W3 to 2 cards")
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
    // The W3 and flashing rows: every number in them was computed.
    for line in out
        .lines()
        .filter(|l| l.starts_with("W3 ") || l.starts_with("flash W3"))
    {
        let numbers: Vec<f64> = line
            .split(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == ')')
            .filter_map(|w| w.parse::<f64>().ok())
            .collect();
        assert!(numbers.len() >= 2, "no figures in {line}");
        assert!(numbers.iter().all(|v| v.is_finite()), "{line}");
    }
    let flash = out
        .lines()
        .find(|l| l.starts_with("flash W3"))
        .unwrap_or_else(|| panic!("no flash row in:\n{out}"));
    assert!(
        flash.contains("burnline ")
            && flash.contains("bmaptool+cmp ")
            && flash.contains("cards/hour"),
        "{flash}"
    );
}
