//! Android sparse output (`build --format android-sparse`) and input
//! (`flash` of `.simg` files), checked with AOSP's own tools from Debian's
//! android-sdk-libsparse-utils (a missing tool fails the test):
//! - every `.simg` burnline writes turns back, through `simg2img`, into
//!   exactly the raw image a plain build writes; holes are DONT_CARE;
//!   two builds give identical bytes; the block size comes from the recipe
//!   or the command line;
//! - a delta set (`--deltas`): `base.simg` plus each device's `NAME.delta.simg`,
//!   flashed in order by burnline, and applied independently (`simg2img` of
//!   the base, then the delta's chunks written by a Python reader of the
//!   format), give exactly that device's image, and the delta's DONT_CARE
//!   chunks cover all but a few blocks;
//! - `flash` writes `img2simg`'s output and burnline's own `.simg`;
//! - a sparse file with a bad magic, an unknown version, a chunk past the
//!   end, a chunk size that overflows, wrong header sizes or a wrong block
//!   total is refused with one line and exit 2, and the target is never
//!   created.

mod common;

use common::fixtures::{fixture, names};
use common::images::sha;
use common::*;
use std::path::{Path, PathBuf};

const DONT_CARE: u16 = 0xCAC3;

/// `burnline build RECIPE --devices CSV --out OUT`, in `t`'s directory.
fn build(t: &Test, r: &Path, c: &Path, out: &Path) -> Test {
    t.cmd()
        .args(["build", s(r), "--devices", s(c), "--out", s(out)])
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

/// A sparse file's block size and its chunks' (type, blocks), read here
/// by hand from the format (28-byte header, 12-byte chunk headers).
fn chunks(path: &Path) -> (u32, Vec<(u16, u32)>) {
    let b = std::fs::read(path).expect("simg");
    assert_eq!(le32(&b, 0), 0xED26_FF3A, "{}: magic", path.display());
    let mut at = 28;
    let mut out = Vec::new();
    for _ in 0..le32(&b, 20) {
        let kind = u16::from_le_bytes([b[at], b[at + 1]]);
        out.push((kind, le32(&b, at + 4)));
        at += le32(&b, at + 8) as usize;
    }
    assert_eq!(at, b.len(), "{}: the chunks end the file", path.display());
    (le32(&b, 12), out)
}

/// `simg2img SIMG RAW`, and RAW's SHA-256.
fn simg2img(t: &Test, simg: &Path) -> String {
    let raw = simg.with_extension("simg2img");
    t.tool("simg2img").args([s(simg), s(&raw)]).run();
    sha(&raw)
}

#[test]
fn full_images_round_trip_through_simg2img_and_are_reproducible() {
    let t = Test::new();
    let (r, c) = fixture(t.path(), 3, "");
    let (raw, a, b) = (t.path().join("raw"), t.path().join("a"), t.path().join("b"));
    build(&t, &r, &c, &raw).run();
    build(&t, &r, &c, &a)
        .args(["--format", "android-sparse"])
        .run();
    build(&t, &r, &c, &b)
        .args(["--format", "android-sparse", "--jobs", "1"])
        .run();
    t.tool("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(&a)
        .run();
    t.cmd().args(["verify", s(&a)]).run();
    let manifest = std::fs::read_to_string(a.join("manifest.json")).expect("manifest");
    for name in names(3) {
        let simg_name = name.replace(".img", ".simg");
        let simg = a.join(&simg_name);
        assert!(!a.join(&name).exists(), "no raw image is left beside it");
        let want = sha(&raw.join(&name));
        assert_eq!(simg2img(&t, &simg), want, "{simg_name}: simg2img");
        assert_eq!(sha(&simg), sha(&b.join(&simg_name)), "two builds differ");
        assert!(manifest.contains(&format!("\"file\":\"{simg_name}\"")));
        assert!(manifest.contains(&format!("\"image_sha256\":\"{want}\"")));
        let (bs, list) = chunks(&simg);
        assert_eq!(bs, 4096, "the default block size");
        let holes: u32 = list.iter().filter(|c| c.0 == DONT_CARE).map(|c| c.1).sum();
        assert!(
            holes > 1024,
            "most of the 8 MiB disk is holes, as DONT_CARE: {list:?}"
        );
    }
}

#[test]
fn block_size_comes_from_the_recipe_or_the_command_line() {
    let t = Test::new();
    let (r, c) = fixture(
        t.path(),
        1,
        "output: {format: android-sparse, sparse_block_size: 1024}\n",
    );
    let raw = t.path().join("raw");
    build(&t, &r, &c, &raw).args(["--format", "raw"]).run();
    let want = sha(&raw.join("gw-0001.img"));
    for (flag, bs) in [(None, 1024), (Some("512"), 512), (Some("65536"), 65536)] {
        let out = t.path().join(format!("bs{bs}"));
        let mut run = build(&t, &r, &c, &out);
        if let Some(f) = flag {
            run = run.args(["--sparse-block-size", f]);
        }
        run.run();
        let simg = out.join("gw-0001.simg");
        assert_eq!(chunks(&simg).0, bs);
        assert_eq!(simg2img(&t, &simg), want, "block size {bs}");
    }
    build(&t, &r, &c, &t.path().join("x"))
        .args(["--sparse-block-size", "1000"])
        .status(2)
        .stderr_contains("multiple of 512")
        .run();
    build(&t, &r, &c, &t.path().join("y"))
        .args(["--sparse-block-size", "1536"])
        .status(2)
        .stderr_lines(1)
        .stderr_contains("not whole 1536-byte blocks")
        .absent("y")
        .run();
    build(&t, &r, &c, &t.path().join("z"))
        .args(["--compress", "zstd"])
        .status(2)
        .stderr_lines(1)
        .stderr_contains("android-sparse images are not compressed")
        .absent("z")
        .run();
    for (output, rule) in [
        (
            "{format: android-sparse, compress: zstd}",
            "android-sparse images are not compressed",
        ),
        (
            "{format: android-sparse, sparse_block_size: 1536}",
            "sparse block size 1536: the image's 8388608 bytes are not whole 1536-byte blocks",
        ),
    ] {
        let (bad, _) = fixture(t.path(), 1, &format!("output: {output}\n"));
        t.cmd()
            .args(["check", s(&bad), "--devices", s(&c)])
            .status(2)
            .error_line(format!("recipe.yaml: output: {rule}"))
            .run();
    }
    let (bad, _) = fixture(
        t.path(),
        1,
        "output: {format: sparse, sparse_block_size: 100}\n",
    );
    t.cmd()
        .args(["check", s(&bad), "--devices", s(&c)])
        .status(2)
        .error_line("output.format: must be `raw` or `android-sparse`, not `sparse`")
        .error_line("output.sparse_block_size: block size 100")
        .run();
}

/// A Python reader of the sparse format that writes a file's RAW and FILL
/// chunks over IMAGE (which it does not resize): the delta applied by hand.
const APPLY: &str = r#"
import struct, sys
simg, image = sys.argv[1], sys.argv[2]
data = open(simg, "rb").read()
magic, major, minor, fhs, chs, bs, blocks, count, _ = struct.unpack_from("<IHHHHIIII", data)
assert magic == 0xED26FF3A and major == 1, "not a sparse file"
at, block = fhs, 0
with open(image, "r+b") as out:
    for _ in range(count):
        kind, _, n, total = struct.unpack_from("<HHII", data, at)
        body = data[at + chs:at + total]
        if kind == 0xCAC1:
            out.seek(block * bs); out.write(body)
        elif kind == 0xCAC2:
            out.seek(block * bs); out.write(body * (n * bs // 4))
        if kind != 0xCAC4:
            block += n
        at += total
assert block == blocks and at == len(data), "chunks do not cover the image"
"#;

#[test]
fn station_base_plus_sparse_delta_gives_each_devices_image() {
    let t = Test::new().file("apply.py", APPLY);
    let (r, c) = fixture(t.path(), 3, "");
    let (full, st) = (t.path().join("full"), t.path().join("st"));
    build(&t, &r, &c, &full).run();
    build(&t, &r, &c, &st)
        .args(["--deltas", "--format", "android-sparse"])
        .run();
    t.tool("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(&st)
        .run();
    t.cmd().args(["verify", s(&st)]).run();
    let manifest = std::fs::read_to_string(st.join("manifest.json")).expect("manifest");
    assert!(
        manifest.contains("\"base.simg\""),
        "the manifest lists base.simg"
    );
    let base = st.join("base.simg");
    let base_raw = base.with_extension("simg2img");
    simg2img(&t, &base);
    let mut flash = t.cmd().args(["flash", s(&base)]);
    let mut cards: Vec<(PathBuf, String)> = Vec::new();
    for name in names(3) {
        let delta = st.join(name.replace(".img", ".delta.simg"));
        assert!(!st.join(format!("{name}.delta")).exists());
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&delta).expect("delta").permissions(),
        );
        assert_eq!(mode & 0o777, 0o600, "a delta holds secrets");
        let want = sha(&full.join(&name));
        // By hand: simg2img the base, then write the delta's chunks.
        let by_hand = t.path().join(format!("by-hand-{name}"));
        std::fs::copy(&base_raw, &by_hand).expect("copy");
        t.tool("python3")
            .args(["apply.py", s(&delta), s(&by_hand)])
            .run();
        assert_eq!(sha(&by_hand), want, "{name}: simg2img base + delta");
        // The delta is a valid sparse file in its own right.
        simg2img(&t, &delta);
        let (_, list) = chunks(&delta);
        let own: u32 = list.iter().filter(|c| c.0 != DONT_CARE).map(|c| c.1).sum();
        let all: u32 = list.iter().map(|c| c.1).sum();
        assert_eq!(all, 2048, "the delta covers the whole 8 MiB disk");
        assert!(own > 0 && own < 16, "{name}: only its own blocks: {list:?}");
        let card = t.path().join(format!("card-{name}.img"));
        flash = flash.arg(&delta);
        cards.push((card, want));
    }
    for (card, _) in &cards {
        flash = flash.arg("--target").arg(card);
    }
    flash.run();
    for (card, want) in &cards {
        assert_eq!(&sha(card), want, "{}: flashed base + delta", card.display());
    }
}

#[test]
fn flash_writes_img2simg_output_and_burnlines_own() {
    let t = Test::new();
    let (r, c) = fixture(t.path(), 1, "");
    let (raw, sp) = (t.path().join("raw"), t.path().join("sp"));
    build(&t, &r, &c, &raw).run();
    build(&t, &r, &c, &sp)
        .args(["--format", "android-sparse"])
        .run();
    let image = raw.join("gw-0001.img");
    let want = sha(&image);
    for bs in ["4096", "1024"] {
        let out = t.path().join(format!("img2simg-{bs}.simg"));
        t.tool("img2simg").args([s(&image), s(&out), bs]).run();
        let card = t.path().join(format!("card-{bs}.img"));
        t.cmd()
            .args(["flash", s(&out), "--target", s(&card)])
            .stderr_contains("written and verified")
            .run();
        assert_eq!(sha(&card), want, "img2simg {bs}");
    }
    // burnline's own, one image for two targets; the second card held
    // other bytes, which the DONT_CARE holes leave.
    let (c1, c2) = (t.path().join("c1.img"), t.path().join("c2.img"));
    std::fs::write(&c2, vec![0u8; 8 << 20]).expect("card");
    t.cmd()
        .args(["flash", s(&sp.join("gw-0001.simg"))])
        .args(["--target", s(&c1), "--target", s(&c2)])
        .stderr_contains("bytes of holes skipped")
        .run();
    assert_eq!(sha(&c1), want);
    assert_eq!(sha(&c2), want);
}

/// One sparse file with `edit` applied, flashed: refused with one line
/// naming the file and the rule, exit 2, and the target never created.
#[track_caller]
fn refused(t: &Test, good: &[u8], what: &str, edit: impl Fn(&mut Vec<u8>), rule: &str) {
    let mut bytes = good.to_vec();
    edit(&mut bytes);
    let file = format!("{what}.simg");
    std::fs::write(t.path().join(&file), &bytes).expect("write");
    let card = format!("card-{what}.img");
    t.cmd()
        .args(["flash", &file, "--target", &card])
        .status(2)
        .stderr_lines(1)
        .stderr_contains(format!("{file}: not a valid Android sparse image"))
        .stderr_contains(rule)
        .stderr_contains("nothing was written")
        .absent(&card)
        .run();
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Adds `n` to the u32 at `at`.
fn add32(b: &mut [u8], at: usize, n: i64) {
    let v = i64::from(le32(b, at)) + n;
    put32(b, at, u32::try_from(v).expect("in range"));
}

#[test]
fn bad_sparse_files_are_refused_before_anything_is_written() {
    let t = Test::new();
    let (r, c) = fixture(t.path(), 1, "");
    let sp = t.path().join("sp");
    build(&t, &r, &c, &sp)
        .args(["--format", "android-sparse"])
        .run();
    let good = std::fs::read(sp.join("gw-0001.simg")).expect("simg");
    // The first chunk starts at 28; the build's first block (the GPT) is RAW.
    assert_eq!(u16::from_le_bytes([good[28], good[29]]), 0xCAC1);
    let set16 =
        |at: usize, v: u16| move |b: &mut Vec<u8>| b[at..at + 2].copy_from_slice(&v.to_le_bytes());
    refused(
        &t,
        &good,
        "magic",
        |b| put32(b, 0, 0x1234_5678),
        "bad magic 0x12345678",
    );
    refused(
        &t,
        &good,
        "version",
        set16(4, 2),
        "unsupported sparse format version 2.0",
    );
    refused(
        &t,
        &good,
        "file-header",
        set16(8, 20),
        "file header size 20",
    );
    refused(
        &t,
        &good,
        "chunk-header",
        set16(10, 8),
        "chunk header size 8",
    );
    refused(
        &t,
        &good,
        "block-size",
        |b| put32(b, 12, 4098),
        "block size 4098",
    );
    refused(
        &t,
        &good,
        "truncated",
        |b| b.truncate(b.len() - 100),
        "ends past the end of the file",
    );
    refused(
        &t,
        &good,
        "overflow",
        |b| put32(b, 32, 0x0010_0000),
        "chunk 0: its size overflows",
    );
    refused(&t, &good, "total-size", |b| add32(b, 36, 4), "total_sz");
    refused(
        &t,
        &good,
        "more-blocks",
        |b| add32(b, 16, 1),
        "the chunks cover 2048 block(s), the header says the image has 2049",
    );
    refused(
        &t,
        &good,
        "fewer-blocks",
        |b| add32(b, 16, -1),
        "past the image's 2047 blocks",
    );
    refused(
        &t,
        &good,
        "chunk-type",
        set16(28, 0xCAC9),
        "unknown type 0xcac9",
    );
    refused(
        &t,
        &good,
        "trailing",
        |b| b.push(0),
        "1 byte(s) after the last",
    );
    refused(&t, &good, "empty", |b| b.clear(), "truncated");
    // A CRC32 chunk that does not match the image before it.
    refused(
        &t,
        &good,
        "crc32",
        |b| {
            add32(b, 20, 1);
            b.extend([0xC4, 0xCA, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 1, 2, 3, 4]);
        },
        "(CRC32) says 0x04030201",
    );
    // A sparse delta for an image of another size than its base.
    let st = t.path().join("st");
    build(&t, &r, &c, &st)
        .args(["--deltas", "--format", "android-sparse"])
        .run();
    let mut delta = std::fs::read(st.join("gw-0001.delta.simg")).expect("delta");
    // One more DONT_CARE block at the end: a well-formed delta, too long.
    add32(&mut delta, 16, 1);
    add32(&mut delta, 20, 1);
    delta.extend([0xC3, 0xCA, 0, 0, 1, 0, 0, 0, 12, 0, 0, 0]);
    std::fs::write(t.path().join("big.delta.simg"), &delta).expect("write");
    t.cmd()
        .args(["flash", s(&st.join("base.simg")), "big.delta.simg"])
        .args(["--target", "card-big.img"])
        .status(2)
        .stderr_lines(1)
        .stderr_contains("big.delta.simg: made for a 8392704-byte image, the base has 8388608")
        .absent("card-big.img")
        .run();
}

/// Every file in `dir` (hidden temp files included) and its SHA-256.
fn listing(dir: &Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| {
            let p = e.expect("entry").path();
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            (name, sha(&p))
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_crashed_sparse_build_reruns_to_the_clean_builds_bytes() {
    let t = Test::new();
    // 70 devices: two batches, so a crash can fall between them.
    let (r, c) = fixture(t.path(), 70, "");
    for extra in [
        &["--format", "android-sparse"][..],
        &["--format", "android-sparse", "--deltas"],
    ] {
        let clean = t.path().join("clean");
        build(&t, &r, &c, &clean).args(extra).run();
        let want = listing(&clean);
        assert!(want
            .iter()
            .all(|(n, _)| n.ends_with(".simg") || !n.contains(".img")));
        for fp in [
            "build-after-base",
            "build-after-rename",
            "build-after-journal",
        ] {
            let out = t.path().join(fp);
            build(&t, &r, &c, &out)
                .args(extra)
                .env("FAILPOINTS", format!("{fp}=return"))
                .signal(6)
                .run();
            build(&t, &r, &c, &out).args(extra).run();
            assert_eq!(listing(&out), want, "{extra:?}, {fp}: the rerun differs");
            std::fs::remove_dir_all(&out).expect("rm");
        }
        std::fs::remove_dir_all(&clean).expect("rm");
    }
}
