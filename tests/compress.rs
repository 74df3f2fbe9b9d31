//! Compression: zstd, xz and gzip outputs are reproducible (two builds give
//! identical bytes), decompress with the real tools to the image the
//! manifest records, and `sha256sum -c SHA256SUMS` passes.

mod station_common;
use station_common::*;

#[test]
fn compressed_outputs_are_reproducible_and_correct() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    let (r, c) = fixture(d, 2, "");
    let raw = d.join("raw");
    ok(&["build", s(&r), "--devices", s(&c), "--out", s(&raw)]);
    for (how, ext, tool_name) in [
        ("zstd", "zst", "zstd"),
        ("xz", "xz", "xz"),
        ("gzip", "gz", "gzip"),
    ] {
        let (a, b) = (d.join(format!("{how}-a")), d.join(format!("{how}-b")));
        ok(&[
            "build",
            s(&r),
            "--devices",
            s(&c),
            "--out",
            s(&a),
            "--compress",
            how,
            "--bmap",
        ]);
        ok(&[
            "build",
            s(&r),
            "--devices",
            s(&c),
            "--out",
            s(&b),
            "--compress",
            how,
            "--bmap",
            "--jobs",
            "1",
        ]);
        tool("sha256sum", &["-c", "SHA256SUMS"], &a);
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
            let out = tool(tool_name, &["-dc", &file], &a);
            use sha2::Digest;
            assert_eq!(
                hex::encode(sha2::Sha256::digest(&out.stdout)),
                want,
                "{file}: {tool_name} -d"
            );
        }
    }
}
