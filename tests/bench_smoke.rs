//! A small run of the benchmark script, so that it keeps working. It checks
//! that every contender ran and every ratio was computed; it asserts nothing
//! about speed (CI machines are noisy, and this is not a timed test). Needs
//! root and genimage, dosfstools, mtools, xfsprogs, time, bmap-tools, b3sum,
//! nbdkit, nbdkit-plugin-dev, libnbd-bin and gcc (the simulated cards of the
//! W3 and flashing rows of scripts/bench-w3.sh), postgresql (the pool's lease
//! rate) and examples/pool_lease_rate built next to burnline (scripts/test.sh
//! builds it).

mod common;

use common::*;

#[test]
fn bench_script_runs_all_contenders() {
    let t = Test::new();
    let lease_rate = burnline_bin()
        .with_file_name("examples")
        .join("pool_lease_rate");
    assert!(
        lease_rate.is_file(),
        "{} is missing: `cargo build -p burnline --example pool_lease_rate` with the tests' profile and features (scripts/test.sh does)",
        lease_rate.display()
    );
    let o = t
        .tool("bash")
        .arg(repo_root().join("scripts/bench.sh"))
        .arg("--quick")
        .current_dir(repo_root())
        .env("BENCH_DIR", t.path())
        .env("BURNLINE_BIN", burnline_bin())
        .env("POOL_BIN", &lease_rate)
        .stdout_contains("W1 xfs N=30: burnline --digest blake3")
        .stdout_contains("burnline rate/synced rfloor rate ")
        .stdout_contains("W1 ext4 sha256: SHA-256 bound ")
        .stdout_contains("W1 xfs sha256: SHA-256 bound ")
        .stdout_contains("genimage followed by sha256sum")
        .stdout_contains("W1 ext4 --digest blake3: burnline ")
        .stdout_contains(", target <= 1.0 x floor: ")
        .stdout_contains("W2 ext4 --deltas: burnline ")
        .stdout_contains(", target <= 1.2 x floor: ")
        .stdout_contains("W2 peak RSS, N=500:")
        .stdout_contains("burnline check, 500-row CSV:")
        .stdout_contains("W3 xfs deltas (--deltas): t(1) ")
        .stdout_contains("W3 xfs full (--digest blake3): t(1) ")
        .stdout_contains("W3 ext4 deltas (--deltas): t(1) ")
        .stdout_contains("W3 ext4 full (--digest blake3): t(1) ")
        .stdout_contains("W3 xfs defaults (SHA-256): N=2 ")
        .stdout_contains("W3 peak RSS, N=4: deltas ")
        .stdout_contains("flash W3 to 2 cards")
        .stdout_contains(
            "simulated cards (nbdkit + card-rate filter at 200 MB/s write, 400 MB/s read",
        )
        .run();
    let out = &o.stdout;
    for (w, fs, label) in [
        ("W1", "ext4", "sha256"),
        ("W1", "ext4", "blake3"),
        ("W1", "xfs", "sha256"),
        ("W1", "xfs", "blake3"),
        ("W2", "ext4", "deltas"),
        ("W2", "xfs", "deltas"),
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
    // Each simulated card's own dd rates: O_DIRECT write, buffered write
    // with fsync and O_DIRECT read, all measured.
    let cards = out
        .lines()
        .find(|l| l.starts_with("simulated cards"))
        .unwrap_or_else(|| panic!("no simulated cards line in:\n{out}"));
    for c in ["card0 ", "card1 "] {
        let rates = cards
            .split(c)
            .nth(1)
            .and_then(|r| r.split([',', ' ']).next())
            .unwrap_or_else(|| panic!("no {c}in {cards}"));
        let rates: Vec<&str> = rates.split('/').collect();
        assert_eq!(rates.len(), 3, "{cards}");
        for v in rates {
            let v: f64 = v.parse().unwrap_or_else(|_| panic!("{cards}"));
            assert!(v.is_finite() && v > 0.0, "{cards}");
        }
    }
    // The station rows (flash --pool at 2 slots against bmaptool+cmp and
    // the cards' dd floor): every column a positive number.
    let station = out
        .lines()
        .find(|l| l.split_whitespace().take(2).eq(["station", "2"]))
        .unwrap_or_else(|| panic!("no station row at 2 slots in:\n{out}"));
    let cols: Vec<f64> = station
        .split_whitespace()
        .skip(1)
        .map(|c| {
            c.parse()
                .unwrap_or_else(|_| panic!("not a number: {c} in {station}"))
        })
        .collect();
    assert_eq!(cols.len(), 12, "{station}");
    assert!(cols.iter().all(|v| v.is_finite() && *v > 0.0), "{station}");
    // The pool's lease rate, 16 stations over loopback TCP and on SQLite,
    // with the lease latency's p99.
    let leases: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("pool lease rate, "))
        .collect();
    assert_eq!(leases.len(), 3, "{out}");
    assert!(
        leases[0].starts_with("pool lease rate, postgres://postgres@127.0.0.1:"),
        "{}",
        leases[0]
    );
    for l in leases {
        assert!(
            l.contains(": 16 stations, 200 identities")
                && l.contains(" leases/s, lease latency p50 ")
                && l.contains(" ms, p99 ")
                && l.ends_with(" ms"),
            "{l}"
        );
    }
}
