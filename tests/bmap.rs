//! bmap files: Debian's `bmaptool copy` accepts burnline's bmaps and
//! reproduces every image exactly (raw and compressed); a bmap whose
//! checksums do not match is refused with a clear message.

mod station_common;
use station_common::*;

#[test]
fn bmaptool_copy_reproduces_images() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    let (r, c) = fixture(d, 3, "output: {bmap: true}\n");
    let (raw, zst, st) = (d.join("raw"), d.join("zst"), d.join("st"));
    ok(&["build", s(&r), "--devices", s(&c), "--out", s(&raw)]);
    ok(&[
        "build",
        s(&r),
        "--devices",
        s(&c),
        "--out",
        s(&zst),
        "--compress",
        "zstd",
    ]);
    ok(&[
        "build",
        s(&r),
        "--devices",
        s(&c),
        "--out",
        s(&st),
        "--station",
    ]);
    for name in names(3) {
        let want = sha(&raw.join(&name));
        let a = d.join(format!("a-{name}"));
        tool("bmaptool", &["copy", s(&raw.join(&name)), s(&a)], d);
        assert_eq!(sha(&a), want, "{name}: bmaptool copy of the raw image");
        let b = d.join(format!("b-{name}"));
        let bmap = zst.join(format!("{name}.bmap"));
        tool(
            "bmaptool",
            &[
                "copy",
                "--bmap",
                s(&bmap),
                s(&zst.join(format!("{name}.zst"))),
                s(&b),
            ],
            d,
        );
        assert_eq!(sha(&b), want, "{name}: bmaptool copy of the zstd image");
    }
    let base = d.join("base-copy.img");
    tool("bmaptool", &["copy", s(&st.join("base.img")), s(&base)], d);
    assert_eq!(sha(&base), sha(&st.join("base.img")));
}

#[test]
fn mismatching_bmap_is_refused() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    let (r, c) = fixture(d, 1, "output: {bmap: true}\n");
    let out = d.join("out");
    ok(&["build", s(&r), "--devices", s(&c), "--out", s(&out)]);
    let img = out.join("gw-0001.img");
    let bmap_path = out.join("gw-0001.img.bmap");
    let text = std::fs::read_to_string(&bmap_path).expect("bmap");

    // A bmap edited by hand: its own checksum no longer matches.
    let edited = d.join("edited.bmap");
    let first = text.find("chksum=\"").expect("range") + 8;
    let mut broken = text.clone();
    broken.replace_range(first..first + 4, "0000");
    std::fs::write(&edited, &broken).expect("write");
    let card = d.join("card1");
    let o = burnline(&["flash", s(&img), "--bmap", s(&edited), "--target", s(&card)]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.lines().count() == 1 && err.contains("bmap file checksum"),
        "{err}"
    );
    assert!(!card.exists());

    // A valid bmap for another image: a range checksum fails mid-write, and
    // the message says the target is left half-written and cannot boot.
    let mut f = std::fs::read(&img).expect("img");
    f[1024 * 1024 + 512 * 3] ^= 0xff; // inside the FAT volume, a mapped block
    let other = d.join("other.img");
    std::fs::write(&other, &f).expect("write");
    let card = d.join("card2");
    let o = burnline(&[
        "flash",
        s(&other),
        "--bmap",
        s(&bmap_path),
        "--target",
        s(&card),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("do not match the bmap's checksum") && err.contains("half-written"),
        "{err}"
    );
    let written = std::fs::read(&card).expect("card");
    assert!(
        written[..1 << 20].iter().all(|b| *b == 0),
        "the partition table region is not written"
    );
}
