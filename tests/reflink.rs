//! Both copy paths: reflink (FICLONE) on a loop-mounted XFS made with
//! `mkfs.xfs -m reflink=1`, and extent-by-extent `copy_file_range` on the
//! machine's own disk. Both give the same bytes; only the first shares
//! extents. Needs root (CI runs as root) and xfsprogs; fails loudly without.

mod common;

use common::fixtures::*;
use common::*;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::Command;

struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn reflink_on_xfs_and_extent_copy_elsewhere_give_identical_images() {
    let t = with_files(Test::new()).file(
        "recipe.yaml",
        recipe("gpt", 16, "16MiB", "64MiB", &device_secret_auth()),
    );
    let backing = t.path().join("xfs.img");
    let f = fs::File::create(&backing).expect("backing");
    f.set_len(1 << 30).expect("size");
    drop(f);
    t.tool("mkfs.xfs")
        .args(["-q", "-m", "reflink=1", s(&backing)])
        .run();
    let mnt = t.path().join("xfs");
    fs::create_dir(&mnt).expect("mkdir");
    // Loop-mounting XFS needs root.
    t.tool("mount")
        .args(["-o", "loop", s(&backing), s(&mnt)])
        .run();
    let _guard = Mount(mnt.clone());

    let xfs_out = mnt.join("out");
    let build = t
        .cmd()
        .args(["build", "recipe.yaml", "--devices", "devices.csv", "--json"]);
    let x = build.clone().args(["--out", s(&xfs_out)]).stdout_json();
    assert_eq!(x["reflink"], true, "FICLONE was not used on XFS");
    let e = build.args(["--out", "ext"]).stdout_json();
    assert_eq!(
        e["reflink"], false,
        "this disk was expected to lack reflink"
    );
    for name in ["gw-0001.img", "gw-0002.img", "manifest.json", "SHA256SUMS"] {
        let a = fs::read(xfs_out.join(name)).expect("xfs file");
        let b = fs::read(t.path().join("ext").join(name)).expect("ext file");
        assert!(
            a == b,
            "{name} differs between the reflink and the copy path"
        );
    }
    // The extent copy keeps holes: far less allocated than the 64 MiB size.
    let meta = fs::metadata(t.path().join("ext/gw-0001.img")).expect("meta");
    assert!(
        meta.blocks() * 512 < 8 << 20,
        "extent copy is not sparse: {} bytes allocated",
        meta.blocks() * 512
    );
    // On XFS the FAT volume's extents are shared with the other images.
    t.tool("filefrag")
        .arg("-v")
        .arg(xfs_out.join("gw-0002.img"))
        .output_contains("shared")
        .run();
    t.tool("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(&xfs_out)
        .run();
}
