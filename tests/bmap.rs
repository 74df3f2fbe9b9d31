//! bmap files: Debian's `bmaptool copy` accepts burnline's bmaps and
//! reproduces every image exactly (raw and compressed); a bmap whose
//! checksums do not match is refused with a clear message.

mod common;

use common::fixtures::{fixture, names};
use common::images::sha;
use common::*;

#[test]
fn bmaptool_copy_reproduces_images() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 3, "output: {bmap: true}\n");
    let (raw, zst, st) = (d.join("raw"), d.join("zst"), d.join("st"));
    let build = t.cmd().args(["build", s(&r), "--devices", s(&c), "--out"]);
    build.clone().arg(&raw).run();
    build.clone().arg(&zst).args(["--compress", "zstd"]).run();
    build.arg(&st).arg("--deltas").run();
    for name in names(3) {
        let want = sha(&raw.join(&name));
        let a = d.join(format!("a-{name}"));
        t.tool("bmaptool")
            .args(["copy", s(&raw.join(&name)), s(&a)])
            .run();
        assert_eq!(sha(&a), want, "{name}: bmaptool copy of the raw image");
        let b = d.join(format!("b-{name}"));
        let bmap = zst.join(format!("{name}.bmap"));
        t.tool("bmaptool")
            .args(["copy", "--bmap", s(&bmap)])
            .args([s(&zst.join(format!("{name}.zst"))), s(&b)])
            .run();
        assert_eq!(sha(&b), want, "{name}: bmaptool copy of the zstd image");
    }
    let base = d.join("base-copy.img");
    t.tool("bmaptool")
        .args(["copy", s(&st.join("base.img")), s(&base)])
        .run();
    assert_eq!(sha(&base), sha(&st.join("base.img")));
}

#[test]
fn mismatching_bmap_is_refused() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 1, "output: {bmap: true}\n");
    let out = d.join("out");
    t.cmd()
        .args(["build", s(&r), "--devices", s(&c), "--out", s(&out)])
        .run();
    let img = out.join("gw-0001.img");
    let bmap_path = out.join("gw-0001.img.bmap");
    let text = std::fs::read_to_string(&bmap_path).expect("bmap");

    // A bmap edited by hand: its own checksum no longer matches.
    let edited = d.join("edited.bmap");
    let first = text.find("chksum=\"").expect("range") + 8;
    let mut broken = text.clone();
    broken.replace_range(first..first + 4, "0000");
    std::fs::write(&edited, &broken).expect("write");
    let card = d.join("card1.img");
    t.cmd()
        .args(["flash", s(&img), "--bmap", s(&edited), "--target", s(&card)])
        .fails()
        .stderr_lines(1)
        .stderr_contains("bmap file checksum")
        .absent(&card)
        .run();

    // A valid bmap for another image: a range checksum fails mid-write, and
    // the message says the target is left half-written and cannot boot.
    let mut f = std::fs::read(&img).expect("img");
    f[1024 * 1024 + 512 * 3] ^= 0xff; // inside the FAT volume, a mapped block
    let other = d.join("other.img");
    std::fs::write(&other, &f).expect("write");
    let card = d.join("card2.img");
    t.cmd()
        .args(["flash", s(&other), "--bmap", s(&bmap_path)])
        .args(["--target", s(&card)])
        .fails()
        // The image's size, said before writing, and the one error.
        .stderr_lines(2)
        .stderr_contains("writing 8388608 bytes (8.00 MiB) to it")
        .stderr_contains("do not match the bmap's checksum")
        .stderr_contains("half-written")
        .run();
    let written = std::fs::read(&card).expect("card");
    assert!(
        written[..1 << 20].iter().all(|b| *b == 0),
        "the partition table region is not written"
    );
}
