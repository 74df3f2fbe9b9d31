//! The station's fast path (issue #28, point 1): `flash --pool` and `flash
//! --recipe` write through the base checked once, so a card reads only the
//! bytes it writes, not the disk (counted by the kernel, `/proc/PID/io`);
//! the pool and the station ledger record `blake3:` by default and
//! `sha256:` with `--digest sha256`, each the digest of the card's whole
//! image; and a byte changed on the card between the write and the
//! read-back is still caught.

mod common;

use common::images::b3sum;
use common::pool_line::{make_pool, pool_flash, pool_flash_args, tiny, Db};
use common::{burnline_bin, s, Test};
use std::path::{Path, PathBuf};

/// `flash --pool` of one card, as arguments.
fn pool_args(db: &Db<'_>, recipe: &Path, key: &Path, target: &Path) -> Vec<String> {
    pool_flash_args(&db.url(), recipe, key, "st1", &[target])
}

fn flash_pool(t: &Test, db: &Db<'_>, recipe: &Path, key: &Path, target: &Path) -> Test {
    pool_flash(t, &db.url(), recipe, key, "st1", &[target])
}

/// The `digest` column of the pool's export for the card `target`.
fn pool_digest(t: &Test, db: &Db<'_>, target: &Path) -> String {
    let out = t
        .cmd()
        .args(["pool", "export", "--db", &db.url()])
        .run()
        .stdout;
    let mut lines = out.lines();
    let head: Vec<&str> = lines.next().expect("a header").split(',').collect();
    let col = |n: &str| head.iter().position(|h| *h == n).expect("column");
    lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|r| r[col("target")] == target.display().to_string())
        .map(|r| r[col("digest")].to_owned())
        .expect("the card's row")
}

/// A pool of `n` identities for `recipe` (written to `dir/recipe.yaml`).
fn pool_for(t: &Test, recipe: &str, n: usize) -> (Db<'static>, PathBuf, PathBuf) {
    let d = t.path().to_path_buf();
    let (_, csv) = tiny(&d, n);
    let rp = d.join("recipe.yaml");
    std::fs::write(&rp, recipe).expect("recipe");
    let db = Db::Sqlite(d.join("pool.db"));
    let key = make_pool(t, &db, &rp, &csv);
    (db, rp, key)
}

#[test]
fn a_pooled_card_reads_only_what_it_writes_not_the_disk() {
    let t = Test::new();
    // An 8 GiB disk holding 1 MiB of data (and the credentials).
    let rootfs: Vec<u8> = (0..(1u32 << 20)).map(|i| (i % 251) as u8 + 1).collect();
    std::fs::write(t.path().join("rootfs.img"), &rootfs).expect("rootfs");
    let (db, recipe, key) = pool_for(
        &t,
        "disk: {size: 8GiB, table: gpt, seed: 0123456789abcdef0123456789abcdef}\n\
         partitions:\n  - {name: creds, size: 1MiB, credentials: {}}\n\
         \x20 - {name: rootfs, size: 2MiB, image: rootfs.img}\n\
         \x20 - {name: data, size: fill}\n\
         auth: {mode: device-secret, product_key: a1X2bEnP82z}\n",
        1,
    );
    let card = t.path().join("card.img");
    // The kernel's count of the bytes burnline read (`rchar`: every byte a
    // read call returned, holes and cached pages included), added to the
    // shell's own when it reaps burnline.
    let out = t
        .tool("sh")
        .args(["-c", "\"$0\" \"$@\" && cat /proc/$$/io"])
        .arg(burnline_bin())
        .args(pool_args(&db, &recipe, &key, &card))
        .stderr_contains("ok: a1X2bEnP82z/gw-00001")
        .run()
        .stdout;
    let rchar: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("rchar: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no rchar in {out:?}"));
    let disk = 8u64 << 30;
    eprintln!("burnline read {rchar} bytes for an {disk}-byte disk");
    // Built, checked once, written and read back: a few passes over the
    // ~4 MiB mapped, never one over the disk.
    assert!(
        rchar < 64 << 20,
        "read {rchar} bytes for a card of 1 MiB data (disk {disk})"
    );
    let digest = pool_digest(&t, &db, &card);
    assert_eq!(digest, format!("blake3:{}", b3sum(&t, &card)));
}

const TINY: &str =
    "disk: {size: 256KiB, table: gpt, alignment: 4KiB, seed: 0123456789abcdef0123456789abcdef}\n\
     partitions:\n  - {name: creds, size: fill, credentials: {}}\n\
     auth: {mode: device-secret, product_key: a1X2bEnP82z}\n";

/// The SHA-256 of a file, by `sha256sum`.
fn sha256sum(t: &Test, path: &Path) -> String {
    let out = t.tool("sha256sum").arg(path).run().stdout;
    out.split_whitespace().next().expect("a hash").to_owned()
}

#[test]
fn the_pool_records_blake3_by_default_and_sha256_when_asked() {
    let t = Test::new();
    let (db, recipe, key) = pool_for(&t, TINY, 2);
    let (a, b) = (t.path().join("a.img"), t.path().join("b.img"));
    flash_pool(&t, &db, &recipe, &key, &a).run();
    flash_pool(&t, &db, &recipe, &key, &b)
        .args(["--digest", "sha256"])
        .run();
    assert_eq!(
        pool_digest(&t, &db, &a),
        format!("blake3:{}", b3sum(&t, &a))
    );
    assert_eq!(
        pool_digest(&t, &db, &b),
        format!("sha256:{}", sha256sum(&t, &b))
    );
    // A name that is no digest: one line, exit 2, nothing leased.
    flash_pool(&t, &db, &recipe, &key, &t.path().join("c.img"))
        .args(["--digest", "md5"])
        .status(2)
        .stderr_contains("--digest")
        .absent("c.img")
        .run();
}

#[test]
fn the_station_ledger_records_blake3_by_default_and_sha256_when_asked() {
    let t = Test::new();
    let d = t.path().to_path_buf();
    let (_, csv) = tiny(&d, 2);
    let recipe = d.join("recipe.yaml");
    std::fs::write(&recipe, TINY).expect("recipe");
    let ledger = d.join("ledger.jsonl");
    let flash = |target: &Path| {
        t.cmd()
            .args(["flash", "--recipe", s(&recipe), "--devices", s(&csv)])
            .args(["--ledger", s(&ledger), "--target", s(target)])
    };
    let (a, b) = (d.join("a.img"), d.join("b.img"));
    flash(&a).run();
    flash(&b).args(["--digest", "sha256"]).run();
    let text = std::fs::read_to_string(&ledger).expect("ledger");
    let verified: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .filter(|v: &serde_json::Value| v["state"] == "verified")
        .collect();
    assert_eq!(verified.len(), 2, "{text}");
    assert_eq!(
        verified[0]["image_digest"],
        format!("blake3:{}", b3sum(&t, &a))
    );
    assert_eq!(
        verified[1]["image_digest"],
        format!("sha256:{}", sha256sum(&t, &b))
    );
}

#[test]
fn a_byte_changed_on_the_card_after_the_write_is_caught_by_the_read_back() {
    let t = Test::new();
    let (db, recipe, key) = pool_for(&t, TINY, 1);
    let card = t.path().join("card.img");
    let run = flash_pool(&t, &db, &recipe, &key, &card)
        .env("FAILPOINTS", "flash-before-verify=sleep(3000)")
        .fails()
        .stderr_contains("read-back does not match what was written")
        .stderr_contains("a1X2bEnP82z/gw-00001 is quarantined")
        .spawn();
    // The GPT header is written last: once it is there, the write is done
    // and the read-back waits on the failpoint.
    let start = std::time::Instant::now();
    loop {
        let bytes = std::fs::read(&card).unwrap_or_default();
        if bytes.get(512..520) == Some(b"EFI PART") {
            break;
        }
        assert!(start.elapsed().as_secs() < 60, "the card was never written");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&card)
        .expect("open the card");
    let mut byte = [0u8; 1];
    let at = 100 << 10;
    std::os::unix::fs::FileExt::read_exact_at(&f, &mut byte, at).expect("read a byte");
    std::os::unix::fs::FileExt::write_all_at(&f, &[byte[0] ^ 0x5a], at).expect("change it");
    run.wait();
    t.cmd()
        .args(["pool", "status", "--db", &db.url()])
        .stdout_contains("quarantined")
        .run();
}
