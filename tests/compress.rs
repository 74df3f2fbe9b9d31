//! Compression: zstd, xz and gzip outputs are reproducible (two builds give
//! identical bytes), decompress with the real tools to the image the
//! manifest records, and `sha256sum -c SHA256SUMS` passes.

mod common;

use common::fixtures::{fixture, names};
use common::images::sha;
use common::*;

#[test]
fn compressed_outputs_are_reproducible_and_correct() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 2, "");
    let raw = d.join("raw");
    let build = t.cmd().args(["build", s(&r), "--devices", s(&c), "--out"]);
    build.clone().arg(&raw).run();
    for (how, ext, tool_name) in [
        ("zstd", "zst", "zstd"),
        ("xz", "xz", "xz"),
        ("gzip", "gz", "gzip"),
    ] {
        let (a, b) = (d.join(format!("{how}-a")), d.join(format!("{how}-b")));
        let compressed = |out| build.clone().arg(out).args(["--compress", how, "--bmap"]);
        compressed(&a).run();
        compressed(&b).args(["--jobs", "1"]).run();
        t.tool("sha256sum")
            .args(["-c", "SHA256SUMS"])
            .current_dir(&a)
            .run();
        let manifest = std::fs::read_to_string(a.join("manifest.json")).expect("manifest");
        for name in names(2) {
            let file = format!("{name}.{ext}");
            assert_eq!(
                sha(&a.join(&file)),
                sha(&b.join(&file)),
                "{file}: two builds differ"
            );
            let want = sha(&raw.join(&name));
            assert!(
                manifest.contains(&format!("\"image_sha256\":\"{want}\"")),
                "manifest records the raw sha256"
            );
            assert!(manifest.contains(&format!("\"sha256\":\"{}\"", sha(&a.join(&file)))));
            let out = t.tool(tool_name).args(["-dc", &file]).current_dir(&a).run();
            use sha2::Digest;
            assert_eq!(
                hex::encode(sha2::Sha256::digest(&out.stdout_bytes)),
                want,
                "{file}: {tool_name} -d"
            );
        }
    }
}

/// `--compress` overrides the recipe's `output.compress`; `none` turns it
/// off (the flag's values are the domain's `Compression`, plus `none`).
#[test]
fn compress_none_overrides_the_recipe() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 1, "output: {compress: zstd}\n");
    let build = |out: &str, extra: &[&str]| {
        t.cmd()
            .args(["build", s(&r), "--devices", s(&c), "--out", out])
            .args(extra)
            .run()
    };
    build("recipe", &[]);
    assert!(d.join("recipe/gw-0001.img.zst").is_file());
    build("none", &["--compress", "none"]);
    assert!(d.join("none/gw-0001.img").is_file());
    assert!(!d.join("none/gw-0001.img.zst").exists());
    build("gzip", &["--compress", "gzip"]);
    assert!(d.join("gzip/gw-0001.img.gz").is_file());
}
