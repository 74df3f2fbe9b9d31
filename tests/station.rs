//! Station mode: for every device, base.img plus its delta, applied with
//! `burnline flash` to a regular file, equals the full image byte for byte;
//! a truncated or corrupted delta is refused before anything is written.

mod station_common;
use station_common::*;

#[test]
fn base_plus_delta_equals_full_image_for_every_device() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    let (r, c) = fixture(d, 6, "");
    let (full, st) = (d.join("full"), d.join("st"));
    ok(&["build", s(&r), "--devices", s(&c), "--out", s(&full)]);
    ok(&[
        "build",
        s(&r),
        "--devices",
        s(&c),
        "--out",
        s(&st),
        "--station",
    ]);
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
    }
}

#[test]
fn truncated_or_corrupted_delta_is_refused_and_nothing_written() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    let (r, c) = fixture(d, 1, "output: {mode: station}\n");
    let st = d.join("st");
    ok(&["build", s(&r), "--devices", s(&c), "--out", s(&st)]);
    let bytes = std::fs::read(st.join("gw-0001.img.delta")).expect("delta");
    let mut corrupt = bytes.clone();
    corrupt[120] ^= 0x40;
    for (what, b) in [
        ("truncated", &bytes[..bytes.len() - 7]),
        ("corrupted", &corrupt[..]),
    ] {
        let bad = d.join(format!("{what}.delta"));
        std::fs::write(&bad, b).expect("write");
        let card = d.join(format!("card-{what}"));
        let o = burnline(&[
            "flash",
            s(&st.join("base.img")),
            s(&bad),
            "--target",
            s(&card),
        ]);
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
    let (full, st) = (d.join("full"), d.join("st"));
    ok(&["build", s(&r), "--devices", s(&c), "--out", s(&full)]);
    ok(&[
        "build",
        s(&r),
        "--devices",
        s(&c),
        "--out",
        s(&st),
        "--station",
        "--no-image-sha256",
    ]);
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
