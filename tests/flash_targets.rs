//! What `flash` may write to (issue 22, items 5, 6, 7, 14, 16 and 24's
//! `--work-dir`), each refusal one line, exit 2, nothing written:
//! - a target that is one of the run's own files (the image however named,
//!   a base, a delta, a bmap, a loop device backed by the image, the
//!   recipe, the device list, the ledger);
//! - a path under /dev that is not a block device (a typo is never made a
//!   file there, and `--recipe` records nothing for it), a symlink to
//!   nothing, a new file not named `*.img`;
//! - a file target grown past 64 GiB without `--large-file` (a 40-byte
//!   `.simg` of 16 TiB), and an image larger than its block device; the
//!   size is said before a byte is written;
//! - a file target is left mode 0600;
//! - `flash --recipe` without `--ledger`, or with a relative one, and a
//!   missing `--work-dir`.

mod common;

use common::fixtures::fixture;
use common::images::{sha, LoopDevice};
use common::pool_line::{make_pool, tiny, Db};
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// `build RECIPE --devices CSV --out OUT EXTRA…`, in `t`'s directory.
fn build(t: &Test, r: &Path, c: &Path, out: &str, extra: &[&str]) {
    t.cmd()
        .args(["build", s(r), "--devices", s(c), "--out", out])
        .args(extra)
        .run();
}

/// `flash ARGS…`, expected to be refused with one line holding `why`.
fn refused(t: &Test, args: &[&str], why: &str) {
    t.cmd()
        .arg("flash")
        .args(args)
        .status(2)
        .stderr_lines(1)
        .stderr_contains(why)
        .stderr_contains("nothing was written")
        .run();
}

#[track_caller]
fn absent(p: &Path) {
    assert!(
        std::fs::symlink_metadata(p).is_err(),
        "{} was made",
        p.display()
    );
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).expect("stat").permissions().mode() & 0o777
}

#[test]
fn a_target_that_is_one_of_the_runs_own_files_is_refused() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 2, "");
    build(&t, &r, &c, "out", &["--bmap"]);
    build(&t, &r, &c, "st", &["--deltas"]);
    let img = d.join("out/gw-0001.img");
    let want = sha(&img);
    std::os::unix::fs::symlink(&img, d.join("sym.img")).expect("symlink");
    std::fs::hard_link(&img, d.join("hard.img")).expect("hard link");
    // The image itself, however it is named.
    for target in [
        s(&img),
        "out/gw-0001.img",
        "./out/gw-0001.img",
        "st/../out/gw-0001.img",
        "sym.img",
        "hard.img",
    ] {
        refused(
            &t,
            &["out/gw-0001.img", "--target", target],
            &format!("target {target}: is the image out/gw-0001.img, which this run reads"),
        );
    }
    // Its bmap, found next to it.
    refused(
        &t,
        &["out/gw-0001.img", "--target", "out/gw-0001.img.bmap"],
        "is a bmap",
    );
    // A base or a delta of the run, also as the second of two targets.
    let (base, delta) = (d.join("st/base.img"), d.join("st/gw-0002.img.delta"));
    let (base_sha, delta_sha) = (sha(&base), sha(&delta));
    for target in ["st/base.img", "./st/gw-0002.img.delta"] {
        refused(
            &t,
            &[
                "st/base.img",
                "st/gw-0001.img.delta",
                "st/gw-0002.img.delta",
                "--target",
                "fresh.img",
                "--target",
                target,
            ],
            "an image or delta",
        );
    }
    // A loop device backed by the image.
    let dev = LoopDevice::attach(&t, &img, &[]);
    refused(
        &t,
        &["out/gw-0001.img", "--target", dev.path()],
        "a loop device backed by the image",
    );
    drop(dev);
    assert_eq!(sha(&img), want, "the image is untouched");
    assert_eq!(sha(&base), base_sha, "the base is untouched");
    assert_eq!(sha(&delta), delta_sha, "the delta is untouched");
    absent(&d.join("fresh.img"));
    // Straight from the recipe: the recipe, the device list, the ledger.
    let ledger = d.join("ledger.jsonl");
    let (r_sha, c_sha) = (sha(&r), sha(&c));
    for (what, target) in [
        ("the recipe", &r),
        ("the device list", &c),
        ("the station ledger", &ledger),
    ] {
        refused(
            &t,
            &[
                "--recipe",
                s(&r),
                "--devices",
                s(&c),
                "--ledger",
                s(&ledger),
                "--target",
                s(target),
            ],
            &format!("is {what}"),
        );
    }
    assert_eq!((sha(&r), sha(&c)), (r_sha, c_sha));
    absent(&ledger);
}

/// Removes a file made under /dev by the test, however it ends.
struct DevFile(PathBuf);

impl Drop for DevFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn a_missing_device_is_never_made_a_file() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 1, "");
    build(&t, &r, &c, "out", &[]);
    let typo = PathBuf::from(format!("/dev/burnline-sdz-{}", std::process::id()));
    let guard = DevFile(typo.clone());
    refused(
        &t,
        &["out/gw-0001.img", "--target", s(&typo)],
        "no such device (a target under /dev must be a block device",
    );
    absent(&typo);
    // Reached from elsewhere: a relative path, and a symlink to it.
    t.cmd()
        .current_dir("/dev")
        .args(["flash", s(&d.join("out/gw-0001.img")), "--target"])
        .arg(typo.file_name().expect("name"))
        .status(2)
        .stderr_contains("no such device")
        .absent(&typo)
        .run();
    std::os::unix::fs::symlink(&typo, d.join("card.img")).expect("symlink");
    refused(
        &t,
        &["out/gw-0001.img", "--target", "card.img"],
        "a symlink to nothing",
    );
    absent(&typo);
    // With --recipe the identity is not even recorded.
    let ledger = d.join("ledger.jsonl");
    refused(
        &t,
        &[
            "--recipe",
            s(&r),
            "--devices",
            s(&c),
            "--ledger",
            s(&ledger),
            "--target",
            s(&typo),
        ],
        "no such device",
    );
    absent(&typo);
    absent(&ledger);
    // A regular file left under /dev is not a card either.
    std::fs::write(&typo, vec![0x5a; 8 << 20]).expect("a file in /dev");
    refused(
        &t,
        &["out/gw-0001.img", "--target", s(&typo)],
        "a regular file under /dev",
    );
    assert!(std::fs::read(&typo)
        .expect("file")
        .iter()
        .all(|b| *b == 0x5a));
    drop(guard);
    // Outside /dev a new file is made only when named *.img.
    refused(
        &t,
        &["out/gw-0001.img", "--target", "card"],
        "a new file target is made only for a name ending in .img",
    );
    absent(&d.join("card"));
    t.cmd()
        .args(["flash", "out/gw-0001.img", "--target", "new.img"])
        .run();
    assert_eq!(sha(&d.join("new.img")), sha(&d.join("out/gw-0001.img")));
    assert_eq!(mode(&d.join("new.img")), 0o600);
}

#[test]
fn a_file_target_is_left_readable_by_its_owner_only() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 2, "");
    build(&t, &r, &c, "out", &[]);
    // An empty file, world-readable, as `touch` makes it.
    let card = d.join("card.img");
    std::fs::write(&card, b"").expect("card");
    std::fs::set_permissions(&card, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    t.cmd()
        .args(["flash", "out/gw-0001.img", "--target", "card.img"])
        .run();
    assert_eq!(sha(&card), sha(&d.join("out/gw-0001.img")));
    assert_eq!(mode(&card), 0o600, "the card holds a DeviceSecret");
    // A used card file, 0666, written by the programmer station.
    let used = d.join("used.img");
    std::fs::write(&used, vec![0x5a; 8 << 20]).expect("used");
    std::fs::set_permissions(&used, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    t.cmd()
        .args(["flash", "--recipe", s(&r), "--devices", s(&c)])
        .args([
            "--ledger",
            s(&d.join("ledger.jsonl")),
            "--target",
            "used.img",
        ])
        .run();
    assert_eq!(mode(&used), 0o600, "the card holds a DeviceSecret");
}

/// An Android sparse file of `blocks` blocks of 4 KiB, all DONT_CARE: 40
/// bytes (a 28-byte header, one 12-byte chunk) for any size.
fn dont_care(path: &Path, blocks: u32) {
    let mut b = Vec::new();
    b.extend(0xED26_FF3Au32.to_le_bytes());
    b.extend([1u16, 0, 28, 12].iter().flat_map(|v| v.to_le_bytes()));
    b.extend([4096u32, blocks, 1, 0].iter().flat_map(|v| v.to_le_bytes()));
    b.extend(0xCAC3u16.to_le_bytes());
    b.extend(0u16.to_le_bytes());
    b.extend([blocks, 12].iter().flat_map(|v| v.to_le_bytes()));
    assert_eq!(b.len(), 40);
    std::fs::write(path, b).expect("simg");
}

#[test]
fn a_huge_image_is_refused_before_writing_unless_asked_for() {
    let t = Test::new();
    let d = t.path();
    // 16 TiB (less one block) in 40 bytes.
    dont_care(&d.join("huge.simg"), u32::MAX);
    let huge = "17592186040320 bytes (16.00 TiB)";
    let limit = "a file target is grown to at most 64.00 GiB without --large-file";
    // A new file target, and an empty one: never grown.
    let hurry = Duration::from_secs(60);
    t.cmd()
        .args(["flash", "huge.simg", "--target", "big.img"])
        .status(2)
        .stderr_lines(1)
        .stderr_contains(limit)
        .stderr_contains(huge)
        .absent("big.img")
        .spawn()
        .wait_within(hurry);
    std::fs::write(d.join("empty.img"), b"").expect("empty");
    t.cmd()
        .args(["flash", "huge.simg", "--target", "empty.img"])
        .status(2)
        .stderr_lines(1)
        .stderr_contains(limit)
        .spawn()
        .wait_within(hurry);
    assert_eq!(
        std::fs::metadata(d.join("empty.img")).expect("empty").len(),
        0
    );
    // A block device smaller than the image.
    let card = d.join("card");
    std::fs::write(&card, vec![0x5a; 8 << 20]).expect("card");
    let dev = LoopDevice::attach(&t, &card, &[]);
    t.cmd()
        .args(["flash", "huge.simg", "--target", dev.path()])
        .status(2)
        .stderr_lines(1)
        .stderr_contains("too small: 8388608 bytes, the image needs 17592186040320")
        .spawn()
        .wait_within(hurry);
    drop(dev);
    assert!(std::fs::read(&card)
        .expect("card")
        .iter()
        .all(|b| *b == 0x5a));
    // Asked for, a 100 GiB file target grows, and the size is said first.
    dont_care(&d.join("hundred.simg"), 100 << 18);
    refused(&t, &["hundred.simg", "--target", "hundred.img"], limit);
    let mut run = t
        .cmd()
        .args([
            "flash",
            "hundred.simg",
            "--target",
            "hundred.img",
            "--large-file",
        ])
        .any_status()
        .stderr_contains("hundred.img: writing 107374182400 bytes (100.00 GiB) to it")
        .spawn();
    let deadline = Instant::now() + hurry;
    while std::fs::metadata(d.join("hundred.img")).map_or(0, |m| m.len()) != 100 << 30 {
        assert!(Instant::now() < deadline, "the file target did not grow");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The size line comes before the first byte: stop the run there.
    std::thread::sleep(Duration::from_millis(500));
    run.kill();
    run.wait();
}

#[test]
fn flash_from_a_recipe_needs_one_ledger_named_absolutely() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 2, "");
    build(&t, &r, &c, "out", &[]);
    let flash = |dir: &Path, ledger: Option<&str>, card: &str| {
        let cmd = t.cmd().current_dir(dir).args([
            "flash",
            "--recipe",
            s(&r),
            "--devices",
            s(&c),
            "--target",
            card,
        ]);
        match ledger {
            Some(l) => cmd.args(["--ledger", l]),
            None => cmd,
        }
    };
    flash(d, None, "c1.img")
        .status(2)
        .stderr_lines(1)
        .stderr_contains("--recipe with --devices needs --ledger PATH")
        .absent("c1.img")
        .absent("burnline-ledger.jsonl")
        .run();
    flash(d, Some("ledger.jsonl"), "c1.img")
        .status(2)
        .stderr_lines(1)
        .stderr_contains("--ledger ledger.jsonl: give an absolute path")
        .absent("c1.img")
        .absent("ledger.jsonl")
        .run();
    // One ledger from two directories: the second card gets the next
    // identity, never the first one again.
    let ledger = d.join("line/ledger.jsonl");
    let (a, b) = (d.join("a"), d.join("b"));
    std::fs::create_dir_all(&a).expect("a");
    std::fs::create_dir_all(&b).expect("b");
    flash(&a, Some(s(&ledger)), "c1.img").run();
    flash(&b, Some(s(&ledger)), "c2.img").run();
    assert_eq!(sha(&a.join("c1.img")), sha(&d.join("out/gw-0001.img")));
    assert_eq!(sha(&b.join("c2.img")), sha(&d.join("out/gw-0002.img")));
}

#[test]
fn a_missing_work_dir_is_a_usage_error_naming_the_flag() {
    let t = Test::new();
    let d = t.path().to_path_buf();
    let (recipe, csv) = tiny(&d, 2);
    let db = Db::Sqlite(d.join("pool.db"));
    let key = make_pool(&t, &db, &recipe, &csv);
    std::fs::write(d.join("afile"), b"").expect("afile");
    for (dir, why) in [
        ("missing", "--work-dir missing: no such directory"),
        ("afile", "--work-dir afile: not a directory"),
    ] {
        t.cmd()
            .args(["flash", "--pool", &db.url(), "--recipe", s(&recipe)])
            .args(["--station", "st1", "--key-file", s(&key)])
            .args(["--work-dir", dir, "--target", "c.img"])
            .status(2)
            .stderr_lines(1)
            .stderr_contains(why)
            .absent("c.img")
            .run();
    }
}

#[test]
fn a_missing_device_leases_nothing_from_the_pool() {
    let t = Test::new();
    let d = t.path().to_path_buf();
    let (recipe, csv) = tiny(&d, 2);
    let db = Db::Sqlite(d.join("pool.db"));
    let key = make_pool(&t, &db, &recipe, &csv);
    let typo = PathBuf::from(format!("/dev/burnline-pool-sdz-{}", std::process::id()));
    let _guard = DevFile(typo.clone());
    for target in [s(&typo), "card"] {
        t.cmd()
            .args(["flash", "--pool", &db.url(), "--recipe", s(&recipe)])
            .args([
                "--station",
                "st1",
                "--key-file",
                s(&key),
                "--target",
                target,
            ])
            .status(2)
            .stderr_lines(1)
            .stderr_contains(format!("target {target}: no such device"))
            .run();
    }
    absent(&typo);
    absent(&d.join("card"));
    assert_eq!(
        db.rows("SELECT state, count(*) FROM identities GROUP BY state"),
        [["available", "2"]],
        "nothing was leased"
    );
}
