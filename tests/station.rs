//! Station mode: for every device, base.img plus its delta, applied with
//! `burnline flash` to a regular file, equals the full image byte for byte;
//! a truncated or corrupted delta is refused before anything is written.
//! With `--digest blake3` each delta records its image's BLAKE3 (checked
//! against the real `b3sum`; a missing b3sum fails the test) and `flash`
//! checks it; a delta of an unknown digest kind is refused.

mod station_common;
use station_common::*;
use std::path::{Path, PathBuf};
use std::process::Output;

/// Builds the recipe `r` for the devices of `c` twice under `d`: full images
/// into `full`, and station output (with `extra` flags) into `st`.
fn full_and_station(d: &Path, r: &Path, c: &Path, extra: &[&str]) -> (PathBuf, PathBuf) {
    let (full, st) = (d.join("full"), d.join("st"));
    ok(&["build", s(r), "--devices", s(c), "--out", s(&full)]);
    let mut args = vec![
        "build",
        s(r),
        "--devices",
        s(c),
        "--out",
        s(&st),
        "--station",
    ];
    args.extend_from_slice(extra);
    ok(&args);
    (full, st)
}

/// A station build of one device in `d/st`, and that device's delta bytes.
fn one_device_station(d: &Path) -> (PathBuf, Vec<u8>) {
    let (r, c) = fixture(d, 1, "output: {mode: station}\n");
    let st = d.join("st");
    ok(&["build", s(&r), "--devices", s(&c), "--out", s(&st)]);
    let bytes = std::fs::read(st.join("gw-0001.img.delta")).expect("delta");
    (st, bytes)
}

/// Flashes `st`'s base with `delta` (written to `d/NAME.delta`) onto the
/// file `d/card-NAME`; returns the run and the card's path.
fn flash_delta(d: &Path, st: &Path, name: &str, delta: &[u8]) -> (Output, PathBuf) {
    let bad = d.join(format!("{name}.delta"));
    std::fs::write(&bad, delta).expect("write");
    let card = d.join(format!("card-{name}"));
    let o = burnline(&[
        "flash",
        s(&st.join("base.img")),
        s(&bad),
        "--target",
        s(&card),
    ]);
    (o, card)
}

#[test]
fn base_plus_delta_equals_full_image_for_every_device() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    let (r, c) = fixture(d, 6, "");
    let (full, st) = full_and_station(d, &r, &c, &[]);
    tool("sha256sum", &["-c", "SHA256SUMS"], &st);
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
        let card = d.join(format!("card-{name}"));
        ok(&[
            "flash",
            s(&st.join("base.img")),
            s(&delta),
            "--target",
            s(&card),
        ]);
        assert_eq!(
            sha(&card),
            sha(&full.join(&name)),
            "{name}: base + delta differs from the full image"
        );
        let bytes = std::fs::read(&delta).expect("delta");
        assert_eq!(&bytes[84..88], &[0; 4], "kind 0: SHA-256, as before");
        assert_eq!(hex::encode(&bytes[48..80]), sha(&full.join(&name)));
    }
}

#[test]
fn truncated_or_corrupted_delta_is_refused_and_nothing_written() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    let (st, bytes) = one_device_station(d);
    let mut corrupt = bytes.clone();
    corrupt[120] ^= 0x40;
    for (what, b) in [
        ("truncated", &bytes[..bytes.len() - 7]),
        ("corrupted", &corrupt[..]),
    ] {
        let (o, card) = flash_delta(d, &st, what, b);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success());
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(
            err.contains("truncated or corrupted") && err.contains("nothing was written"),
            "{err}"
        );
        assert!(!card.exists(), "no target touched");
    }
}

#[test]
fn deltas_without_image_sha256_still_apply() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    let (r, c) = fixture(d, 2, "");
    let (full, st) = full_and_station(d, &r, &c, &["--no-image-sha256"]);
    let manifest = std::fs::read_to_string(st.join("manifest.json")).expect("manifest");
    assert!(!manifest.contains("image_sha256"));
    for name in names(2) {
        let card = d.join(format!("card-{name}"));
        ok(&[
            "flash",
            s(&st.join("base.img")),
            s(&st.join(format!("{name}.delta"))),
            "--target",
            s(&card),
        ]);
        assert_eq!(sha(&card), sha(&full.join(&name)), "{name}");
    }
}

/// The first hex word `b3sum FILE` prints.
fn b3sum(path: &std::path::Path) -> String {
    let o = tool("b3sum", &[s(path)], std::path::Path::new("."));
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .next()
        .expect("b3sum printed a hash")
        .to_owned()
}

/// `bytes` (a delta, edited) with its SHA-256 trailer made right again.
fn reseal(mut bytes: Vec<u8>) -> Vec<u8> {
    use sha2::Digest;
    let n = bytes.len() - 32;
    let sum: [u8; 32] = sha2::Sha256::digest(&bytes[..n]).into();
    bytes[n..].copy_from_slice(&sum);
    bytes
}

/// A station build with `--digest blake3` of `n` devices in `d/st`, and the
/// full images of the same devices in `d/full`.
fn blake3_station(d: &Path, n: usize) -> (PathBuf, PathBuf) {
    let (r, c) = fixture(d, n, "");
    full_and_station(d, &r, &c, &["--digest", "blake3"])
}

#[test]
fn blake3_deltas_record_the_b3sum_of_the_full_image_and_flash() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    let (full, st) = blake3_station(d, 4);
    assert!(!st.join("SHA256SUMS").exists(), "one sums file, B3SUMS");
    let o = tool("b3sum", &["-c", "B3SUMS"], &st);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).matches(": OK").count(),
        5,
        "base.img and four deltas"
    );
    ok(&["verify", s(&st)]);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(st.join("manifest.json")).expect("manifest"))
            .expect("json");
    assert_eq!(
        manifest["base"]["blake3"],
        b3sum(&st.join("base.img")).as_str()
    );
    for (i, name) in names(4).iter().enumerate() {
        let delta = st.join(format!("{name}.delta"));
        let bytes = std::fs::read(&delta).expect("delta");
        let want = b3sum(&full.join(name));
        assert_eq!(&bytes[84..88], &[1, 0, 0, 0], "{name}: kind 1, BLAKE3");
        assert_eq!(hex::encode(&bytes[48..80]), want, "{name}: recorded result");
        assert_eq!(hex::encode(&bytes[16..48]), sha(&st.join("base.img")));
        let e = &manifest["devices"][i];
        assert_eq!(e["image_blake3"], want.as_str(), "{e}");
        assert!(e.get("image_sha256").is_none(), "{e}");
        let card = d.join(format!("card-{name}"));
        let o = ok(&[
            "flash",
            s(&st.join("base.img")),
            s(&delta),
            "--target",
            s(&card),
        ]);
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(&format!("blake3 {want}")),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(b3sum(&card), want, "{name}: the card is the full image");
    }
}

#[test]
fn blake3_flash_fails_on_a_changed_base_byte_or_result_hash() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    let (_, st) = blake3_station(d, 1);
    let delta = st.join("gw-0001.img.delta");
    // One byte of the base changed.
    let mut base = std::fs::read(st.join("base.img")).expect("base");
    base[3 << 20] ^= 1;
    let bad_base = d.join("bad-base.img");
    std::fs::write(&bad_base, &base).expect("write");
    let o = burnline(&[
        "flash",
        s(&bad_base),
        s(&delta),
        "--target",
        s(&d.join("card-a")),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("is not the base this delta was made for"),
        "{err}"
    );
    // The recorded result changed (the trailer made right again).
    let mut bytes = std::fs::read(&delta).expect("delta");
    bytes[50] ^= 1;
    let bad_delta = d.join("bad-result.delta");
    std::fs::write(&bad_delta, reseal(bytes)).expect("write");
    let o = burnline(&[
        "flash",
        s(&st.join("base.img")),
        s(&bad_delta),
        "--target",
        s(&d.join("card-b")),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("does not have the blake3 the delta records") && err.contains("half-written"),
        "{err}"
    );
}

#[test]
fn delta_of_an_unknown_digest_kind_is_refused() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    let (st, mut bytes) = one_device_station(d);
    bytes[84] = 7;
    let (o, card) = flash_delta(d, &st, "kind7", &reseal(bytes));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("digest kind (bytes 84..88) is 7") && err.contains("nothing was written"),
        "{err}"
    );
    assert!(!card.exists(), "no target touched");
}

#[test]
fn blake3_without_image_hash_records_zeros_and_still_flashes() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    let (r, c) = fixture(d, 1, "");
    let (full, st) = full_and_station(d, &r, &c, &["--digest", "blake3", "--no-image-sha256"]);
    let manifest = std::fs::read_to_string(st.join("manifest.json")).expect("manifest");
    assert!(!manifest.contains("image_blake3") && !manifest.contains("image_sha256"));
    tool("b3sum", &["-c", "B3SUMS"], &st);
    let delta = st.join("gw-0001.img.delta");
    let bytes = std::fs::read(&delta).expect("delta");
    assert_eq!(&bytes[48..80], &[0; 32], "not recorded");
    assert_eq!(&bytes[84..88], &[1, 0, 0, 0]);
    let card = d.join("card");
    ok(&[
        "flash",
        s(&st.join("base.img")),
        s(&delta),
        "--target",
        s(&card),
    ]);
    assert_eq!(sha(&card), sha(&full.join("gw-0001.img")));
}
