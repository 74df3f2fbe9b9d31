//! Delta sets (`--deltas`): for every device, base.img plus its delta, applied with
//! `burnline flash` to a regular file, equals the full image byte for byte;
//! a truncated or corrupted delta is refused before anything is written.
//! With `--digest blake3` each delta records its image's BLAKE3 (checked
//! against the real `b3sum`; a missing b3sum fails the test) and `flash`
//! checks it; a delta of an unknown digest kind is refused.

mod common;

use common::fixtures::{fixture, names};
use common::images::{b3sum, cached_bytes, sha};
use common::*;
use std::path::{Path, PathBuf};

/// `burnline build RECIPE --devices CSV --out OUT`, in `t`'s directory.
fn build(t: &Test, r: &Path, c: &Path, out: &Path) -> Test {
    t.cmd()
        .args(["build", s(r), "--devices", s(c), "--out", s(out)])
}

/// `burnline flash BASE DELTA --target CARD`.
fn flash(t: &Test, base: &Path, delta: &Path, card: &Path) -> Test {
    t.cmd()
        .args(["flash", s(base), s(delta), "--target", s(card)])
}

/// Builds the recipe `r` for the devices of `c` twice in `t`'s directory:
/// full images into `full`, and a delta set (with `extra` flags) into
/// `st`.
fn full_and_deltas(t: &Test, r: &Path, c: &Path, extra: &[&str]) -> (PathBuf, PathBuf) {
    let (full, st) = (t.path().join("full"), t.path().join("st"));
    build(t, r, c, &full).run();
    build(t, r, c, &st).arg("--deltas").args(extra).run();
    (full, st)
}

/// A delta set of one device in `st`, and that device's delta bytes.
fn one_device_deltas(t: &Test) -> (PathBuf, Vec<u8>) {
    let (r, c) = fixture(t.path(), 1, "output: {mode: deltas}\n");
    let st = t.path().join("st");
    build(t, &r, &c, &st).run();
    let bytes = std::fs::read(st.join("gw-0001.img.delta")).expect("delta");
    (st, bytes)
}

/// The flash of `st`'s base with `delta` (written to `NAME.delta`) onto
/// the file `card-NAME`, to be run; and the card's path.
fn flash_delta(t: &Test, st: &Path, name: &str, delta: &[u8]) -> (Test, PathBuf) {
    let bad = t.path().join(format!("{name}.delta"));
    std::fs::write(&bad, delta).expect("write");
    let card = t.path().join(format!("card-{name}.img"));
    (flash(t, &st.join("base.img"), &bad, &card), card)
}

#[test]
fn base_plus_delta_equals_full_image_for_every_device() {
    let t = Test::new();
    let (r, c) = fixture(t.path(), 6, "");
    let (full, st) = full_and_deltas(&t, &r, &c, &[]);
    t.tool("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(&st)
        .run();
    let manifest = std::fs::read_to_string(st.join("manifest.json")).expect("manifest");
    assert!(
        manifest.contains("\"base.img\""),
        "the manifest lists base.img"
    );
    for name in names(6) {
        let delta = st.join(format!("{name}.delta"));
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&delta).expect("delta").permissions(),
        );
        assert_eq!(mode & 0o777, 0o600, "a delta holds secrets");
        let card = t.path().join(format!("card-{name}.img"));
        flash(&t, &st.join("base.img"), &delta, &card).run();
        assert_eq!(
            sha(&card),
            sha(&full.join(&name)),
            "{name}: base + delta differs from the full image"
        );
        let bytes = std::fs::read(&delta).expect("delta");
        assert_eq!(
            &bytes[84..88],
            &[1, 0, 0, 0],
            "kind 1: BLAKE3 by default (only flash reads it)"
        );
        assert_eq!(hex::encode(&bytes[48..80]), b3sum(&t, &full.join(&name)));
    }
    // Named, the digest is SHA-256 again, as it was the default before.
    let (full, st) = full_and_deltas(&t, &r, &c, &["--digest", "sha256"]);
    let name = &names(6)[0];
    let bytes = std::fs::read(st.join(format!("{name}.delta"))).expect("delta");
    assert_eq!(&bytes[84..88], &[0; 4], "kind 0: SHA-256");
    assert_eq!(hex::encode(&bytes[48..80]), sha(&full.join(name)));
}

/// `--station` and `output.mode: station`, the old names of `--deltas` and
/// `output.mode: deltas`, still build a delta set, the same bytes (the same
/// `SHA256SUMS`); `build --help` shows only the new name; a mode of neither
/// name is refused naming the field.
#[test]
fn the_old_station_names_build_the_same_delta_set() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 3, "");
    let plain = std::fs::read_to_string(&r).expect("recipe");
    let with_mode = |mode: &str| -> PathBuf {
        let recipe = d.join(format!("{mode}.yaml"));
        std::fs::write(&recipe, format!("{plain}output: {{mode: {mode}}}\n")).expect("recipe");
        recipe
    };
    build(&t, &r, &c, &d.join("deltas")).arg("--deltas").run();
    build(&t, &r, &c, &d.join("station")).arg("--station").run();
    for mode in ["deltas", "station"] {
        build(&t, &with_mode(mode), &c, &d.join(format!("mode-{mode}"))).run();
    }
    let sums =
        |out: &str| std::fs::read_to_string(d.join(out).join("SHA256SUMS")).expect("SHA256SUMS");
    let want = sums("deltas");
    assert!(
        want.contains("  base.img\n") && want.contains("  gw-0003.img.delta\n"),
        "{want}"
    );
    for out in ["station", "mode-deltas", "mode-station"] {
        assert_eq!(sums(out), want, "{out}");
    }
    t.cmd()
        .args(["build", "--help"])
        .stdout_contains("--deltas")
        .stdout_lacks("--station")
        .run();
    t.cmd()
        .args(["check", s(&with_mode("stations")), "--devices", s(&c)])
        .status(2)
        .stderr_contains("output.mode")
        .stderr_contains("must be `full` or `deltas`")
        .run();
}

#[test]
fn truncated_or_corrupted_delta_is_refused_and_nothing_written() {
    let t = Test::new();
    let (st, bytes) = one_device_deltas(&t);
    let mut corrupt = bytes.clone();
    corrupt[120] ^= 0x40;
    for (what, b) in [
        ("truncated", &bytes[..bytes.len() - 7]),
        ("corrupted", &corrupt[..]),
    ] {
        let (run, card) = flash_delta(&t, &st, what, b);
        run.fails()
            .stderr_lines(1)
            .stderr_contains("truncated or corrupted")
            .stderr_contains("nothing was written")
            .absent(&card)
            .run();
    }
}

#[test]
fn deltas_without_image_sha256_still_apply() {
    let t = Test::new();
    let (r, c) = fixture(t.path(), 2, "");
    let (full, st) = full_and_deltas(&t, &r, &c, &["--no-image-sha256"]);
    let manifest = std::fs::read_to_string(st.join("manifest.json")).expect("manifest");
    assert!(!manifest.contains("image_sha256"));
    for name in names(2) {
        let card = t.path().join(format!("card-{name}.img"));
        let delta = st.join(format!("{name}.delta"));
        flash(&t, &st.join("base.img"), &delta, &card).run();
        assert_eq!(sha(&card), sha(&full.join(&name)), "{name}");
    }
}

/// `bytes` (a delta, edited) with its SHA-256 trailer made right again.
fn reseal(mut bytes: Vec<u8>) -> Vec<u8> {
    use sha2::Digest;
    let n = bytes.len() - 32;
    let sum: [u8; 32] = sha2::Sha256::digest(&bytes[..n]).into();
    bytes[n..].copy_from_slice(&sum);
    bytes
}

/// A delta set built with `--digest blake3` of `n` devices in `st`, and the
/// full images of the same devices in `full`.
fn blake3_deltas(t: &Test, n: usize) -> (PathBuf, PathBuf) {
    let (r, c) = fixture(t.path(), n, "");
    full_and_deltas(t, &r, &c, &["--digest", "blake3"])
}

#[test]
fn blake3_deltas_record_the_b3sum_of_the_full_image_and_flash() {
    let t = Test::new();
    let (full, st) = blake3_deltas(&t, 4);
    assert!(!st.join("SHA256SUMS").exists(), "one sums file, B3SUMS");
    // base.img and four deltas.
    t.tool("b3sum")
        .args(["-c", "B3SUMS"])
        .current_dir(&st)
        .stdout_count(": OK", 5)
        .run();
    t.cmd().args(["verify", s(&st)]).run();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(st.join("manifest.json")).expect("manifest"))
            .expect("json");
    assert_eq!(
        manifest["base"]["blake3"],
        b3sum(&t, &st.join("base.img")).as_str()
    );
    for (i, name) in names(4).iter().enumerate() {
        let delta = st.join(format!("{name}.delta"));
        let bytes = std::fs::read(&delta).expect("delta");
        let want = b3sum(&t, &full.join(name));
        assert_eq!(&bytes[84..88], &[1, 0, 0, 0], "{name}: kind 1, BLAKE3");
        assert_eq!(hex::encode(&bytes[48..80]), want, "{name}: recorded result");
        assert_eq!(hex::encode(&bytes[16..48]), sha(&st.join("base.img")));
        let e = &manifest["devices"][i];
        assert_eq!(e["image_blake3"], want.as_str(), "{e}");
        assert!(e.get("image_sha256").is_none(), "{e}");
        let card = t.path().join(format!("card-{name}.img"));
        flash(&t, &st.join("base.img"), &delta, &card)
            .stderr_contains(format!("blake3 {want}"))
            .run();
        assert_eq!(b3sum(&t, &card), want, "{name}: the card is the full image");
    }
}

#[test]
fn blake3_flash_fails_on_a_changed_base_byte_or_result_hash() {
    let t = Test::new();
    let (_, st) = blake3_deltas(&t, 1);
    let delta = st.join("gw-0001.img.delta");
    // One byte of the base changed (in the data partition, which no record
    // overwrites): found through the base's tree before any target is
    // touched.
    let mut base = std::fs::read(st.join("base.img")).expect("base");
    base[5 << 20] ^= 1;
    let bad_base = t.path().join("bad-base.img");
    std::fs::write(&bad_base, &base).expect("write");
    let card_a = t.path().join("card-a.img");
    flash(&t, &bad_base, &delta, &card_a)
        .status(2)
        .stderr_contains("is not the base this delta was made for")
        .stderr_contains("nothing was written")
        .absent(&card_a)
        .run();
    // The recorded result changed (the trailer made right again): the same.
    let mut bytes = std::fs::read(&delta).expect("delta");
    bytes[50] ^= 1;
    let bad_delta = t.path().join("bad-result.delta");
    std::fs::write(&bad_delta, reseal(bytes)).expect("write");
    let base_img = st.join("base.img");
    let card_b = t.path().join("card-b.img");
    flash(&t, &base_img, &bad_delta, &card_b)
        .status(2)
        .stderr_contains("(blake3 differs)")
        .stderr_contains("nothing was written")
        .absent(&card_b)
        .run();
    // With --no-bmap every byte is streamed and hashed on the way, and the
    // same damage is found at the end, before the partition table.
    flash(&t, &bad_base, &delta, &t.path().join("card-c.img"))
        .arg("--no-bmap")
        .fails()
        .stderr_contains("is not the base this delta was made for")
        .stderr_contains("half-written")
        .run();
    flash(&t, &base_img, &bad_delta, &t.path().join("card-d.img"))
        .arg("--no-bmap")
        .fails()
        .stderr_contains("does not have the blake3 the delta records")
        .stderr_contains("half-written")
        .run();
}

#[test]
fn a_base_changed_after_the_check_is_found_before_the_table_is_written() {
    let t = Test::new();
    let (full, st) = blake3_deltas(&t, 1);
    // A base with no holes (every byte mapped), checked by the plan; then,
    // while the `flash-before-ranges` failpoint holds the writer, one byte
    // of it changes.
    let base = t.path().join("base-copy.img");
    std::fs::write(&base, std::fs::read(st.join("base.img")).expect("base")).expect("copy");
    let card = t.path().join("card.img");
    let run = flash(&t, &base, &st.join("gw-0001.img.delta"), &card)
        .env("FAILPOINTS", "flash-before-ranges=sleep(1500)")
        .fails()
        .stderr_contains("base-copy.img: changed while it was being written")
        .stderr_contains("half-written")
        .spawn();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&base)
        .expect("open the base");
    std::os::unix::fs::FileExt::write_all_at(&f, &[0x5a], 5 << 20).expect("change a byte");
    run.wait();
    // Unchanged, the same base flashes the full image.
    std::os::unix::fs::FileExt::write_all_at(&f, &[0], 5 << 20).expect("change it back");
    flash(&t, &base, &st.join("gw-0001.img.delta"), &card).run();
    assert_eq!(b3sum(&t, &card), b3sum(&t, &full.join("gw-0001.img")));
}

#[test]
fn delta_of_an_unknown_digest_kind_is_refused() {
    let t = Test::new();
    let (st, mut bytes) = one_device_deltas(&t);
    bytes[84] = 7;
    let (run, card) = flash_delta(&t, &st, "kind7", &reseal(bytes));
    run.status(2)
        .stderr_contains("digest kind (bytes 84..88) is 7")
        .stderr_contains("nothing was written")
        .absent(&card)
        .run();
}

#[test]
fn blake3_without_image_hash_records_zeros_and_still_flashes() {
    let t = Test::new();
    let (r, c) = fixture(t.path(), 1, "");
    let (full, st) = full_and_deltas(&t, &r, &c, &["--digest", "blake3", "--no-image-sha256"]);
    let manifest = std::fs::read_to_string(st.join("manifest.json")).expect("manifest");
    assert!(!manifest.contains("image_blake3") && !manifest.contains("image_sha256"));
    t.tool("b3sum")
        .args(["-c", "B3SUMS"])
        .current_dir(&st)
        .run();
    let delta = st.join("gw-0001.img.delta");
    let bytes = std::fs::read(&delta).expect("delta");
    assert_eq!(&bytes[48..80], &[0; 32], "not recorded");
    assert_eq!(&bytes[84..88], &[1, 0, 0, 0]);
    let card = t.path().join("card.img");
    flash(&t, &st.join("base.img"), &delta, &card).run();
    assert_eq!(sha(&card), sha(&full.join("gw-0001.img")));
}

#[test]
fn a_delta_set_base_without_a_bmap_skips_its_holes_and_no_bmap_writes_them() {
    let t = Test::new();
    let (r, c) = fixture(t.path(), 1, "");
    let (full, st) = full_and_deltas(&t, &r, &c, &[]);
    let name = &names(1)[0];
    let delta = st.join(format!("{name}.delta"));
    let image = std::fs::read(full.join(name)).expect("image");
    // A used card: every byte 0xff.
    let card = t.path().join("used-card");
    std::fs::write(&card, vec![0xffu8; image.len()]).expect("card");
    let out = flash(&t, &st.join("base.img"), &delta, &card).run();
    let skipped: u64 = out
        .stderr
        .split_once("written and verified")
        .and_then(|(_, rest)| {
            rest.split_once('(')?
                .1
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no skipped count in: {}", out.stderr));
    assert!(
        skipped > (image.len() as u64) / 2,
        "only {skipped} bytes of holes skipped"
    );
    // What was written is the image; what was skipped is the old card.
    let got = std::fs::read(&card).expect("card");
    let differing = got.iter().zip(&image).filter(|(a, b)| a != b).count() as u64;
    assert!(
        differing > 0 && differing <= skipped,
        "{differing} bytes differ"
    );
    assert!(got.iter().zip(&image).all(|(a, b)| a == b || *a == 0xff));
    // --no-bmap writes every block: the card is the image.
    flash(&t, &st.join("base.img"), &delta, &card)
        .arg("--no-bmap")
        .stderr_contains("(0 bytes of holes skipped)")
        .run();
    assert_eq!(sha(&card), sha(&full.join(name)));
}

/// A card that is a block device is written and read back around the
/// page cache (`O_DIRECT`): after `flash`, the card holds the full image
/// byte for byte, and the device's page cache holds next to none of the
/// bytes written (through the cache, the read-back alone leaves every one
/// of them there); the base's chunks that no patch touches went to it by
/// `splice(2)`, never through burnline's memory (traced with strace).
#[test]
fn a_block_device_is_written_and_read_back_around_the_page_cache() {
    let t = Test::new();
    // A disk with 4 MiB of data between its table regions, as a base's
    // chunks that no patch touches.
    let (_, csv) = common::pool_line::tiny(t.path(), 1);
    let rootfs: Vec<u8> = (0..(4u32 << 20)).map(|i| (i % 251) as u8 + 1).collect();
    std::fs::write(t.path().join("rootfs.img"), &rootfs).expect("rootfs");
    let r = t.path().join("card.yaml");
    std::fs::write(
        &r,
        "disk: {size: 16MiB, table: gpt, seed: 0123456789abcdef0123456789abcdef}\n\
         partitions:\n  - {name: creds, size: 1MiB, credentials: {}}\n\
         \x20 - {name: rootfs, size: 6MiB, image: rootfs.img}\n\
         \x20 - {name: data, size: fill}\n\
         auth: {mode: device-secret, product_key: a1X2bEnP82z}\n",
    )
    .expect("recipe");
    let (full, st) = full_and_deltas(&t, &r, &csv, &["--digest", "blake3"]);
    let image = full.join("gw-00001.img");
    let size = std::fs::metadata(&image).expect("image").len();
    let card = t.path().join("card.bin");
    std::fs::File::create(&card)
        .and_then(|f| f.set_len(size))
        .expect("a blank card");
    let slot = common::slots::Slot::new(200);
    slot.insert(&t, &card, &[]);
    // Held open, so the device's cache outlives flash's own close.
    let held = std::fs::File::open(slot.path()).expect("open the card");
    // Traced, to see the base's chunks go to the card by splice(2).
    let trace = t.path().join("splice.trace");
    let stderr = t
        .tool("strace")
        .args(["-f", "-qq", "-e", "trace=splice", "-o", s(&trace)])
        .arg(burnline_bin())
        .args(["flash", s(&st.join("base.img"))])
        .args([s(&st.join("gw-00001.img.delta")), "--target", slot.path()])
        .stderr_contains("written and verified")
        .run()
        .stderr;
    let cached = cached_bytes(&t, slot.path());
    drop(held);
    slot.remove(&t);
    assert_eq!(b3sum(&t, &card), b3sum(&t, &image));
    let skipped: u64 = stderr
        .rsplit('(')
        .next()
        .and_then(|r| r.strip_suffix(" bytes of holes skipped)\n"))
        .and_then(|n| n.parse().ok())
        .expect("flash says how many bytes of holes it skipped");
    let written = size - skipped;
    assert!(
        cached * 8 < written,
        "{cached} of the {written} bytes written are in the card's page cache"
    );
    // The bytes spliced out of a pipe (into the card: the only splices
    // with an offset on their way out) are the base's unpatched chunks.
    let spliced: u64 = std::fs::read_to_string(&trace)
        .expect("the trace")
        .lines()
        .filter_map(|l| l.split_once("splice(").map(|(_, call)| call))
        .filter(|call| call.split(", ").nth(1) == Some("NULL"))
        .filter_map(|call| call.rsplit(" = ").next()?.trim().parse::<u64>().ok())
        .sum();
    eprintln!("{spliced} of the {written} bytes written were spliced");
    assert!(
        spliced >= 3 << 20 && spliced < written,
        "{spliced} of the {written} bytes written were spliced"
    );
}
