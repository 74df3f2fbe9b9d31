//! Both copy paths: reflink (FICLONE) on a loop-mounted XFS made with
//! `mkfs.xfs -m reflink=1`, and extent-by-extent `copy_file_range` on the
//! machine's own disk. Both give the same bytes; only the first shares
//! extents. On XFS the base also shares an `image:` source's extents (the
//! kernel's `copy_file_range` remaps them when source and base share a file
//! system). Needs root (CI runs as root) and xfsprogs; fails loudly without.

mod common;

use common::fixtures::*;
use common::*;
use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// A loop-mounted 1 GiB XFS with reflink in the test's folder, unmounted
/// on drop. Loop-mounting needs root.
fn mount_xfs(t: &Test) -> (Mount, PathBuf) {
    let backing = t.path().join("xfs.img");
    let f = fs::File::create(&backing).expect("backing");
    f.set_len(1 << 30).expect("size");
    drop(f);
    t.tool("mkfs.xfs")
        .args(["-q", "-m", "reflink=1", s(&backing)])
        .run();
    let mnt = t.path().join("xfs");
    fs::create_dir(&mnt).expect("mkdir");
    t.tool("mount")
        .args(["-o", "loop", s(&backing), s(&mnt)])
        .run();
    (Mount(mnt.clone()), mnt)
}

/// The physical blocks of a file's written data extents, from `filefrag -v`.
fn physical_blocks(t: &Test, file: &Path) -> BTreeSet<u64> {
    let out = t.tool("filefrag").arg("-v").arg(file).run().text();
    let mut blocks = BTreeSet::new();
    for line in out.lines() {
        // "   3:     2504..    2507:         92..        95:      4: ..."
        let cols: Vec<&str> = line.split(':').map(str::trim).collect();
        // Unwritten extents read as zeros: they are holes to a copy.
        if cols.len() < 4 || cols[0].parse::<u64>().is_err() || line.contains("unwritten") {
            continue;
        }
        let range = |c: &str| -> (u64, u64) {
            let (a, b) = c.split_once("..").expect("a range");
            (
                a.trim().parse().expect("start"),
                b.trim().parse().expect("end"),
            )
        };
        let (first, last) = range(cols[2]);
        blocks.extend(first..=last);
    }
    blocks
}

#[test]
fn the_base_shares_an_image_sources_extents_on_the_same_xfs() {
    let t = Test::new().file("devices.csv", devices_csv());
    let (_guard, mnt) = mount_xfs(&t);
    // A rootfs image with real extents: mke2fs -d from a folder of files.
    let tree = t.path().join("tree");
    fs::create_dir(&tree).expect("mkdir");
    for i in 0..8u32 {
        let data: Vec<u8> = (0..(1u32 << 20))
            .map(|j| (j.wrapping_mul(i + 7) % 251) as u8)
            .collect();
        fs::write(tree.join(format!("f{i}")), data).expect("write");
    }
    let rootfs = mnt.join("rootfs.ext4");
    t.tool("mke2fs")
        .args(["-q", "-t", "ext4", "-d", s(&tree), s(&rootfs), "24M"])
        .env("E2FSPROGS_FAKE_TIME", "1")
        .run();
    let r = format!(
        "disk:\n  size: 64MiB\n  table: gpt\n  seed: 00112233445566778899aabbccddeeff\n\
         partitions:\n  - name: creds\n    size: 1MiB\n    credentials: {{}}\n\
         \x20 - name: rootfs\n    size: 32MiB\n    type: linux\n    image: {}\n\
         \x20 - name: data\n    size: fill\nauth:\n  mode: device-secret\n",
        rootfs.display()
    );
    fs::write(t.path().join("recipe.yaml"), r).expect("recipe");
    let out = mnt.join("out");
    t.cmd()
        .args([
            "build",
            "recipe.yaml",
            "--devices",
            "devices.csv",
            "--deltas",
        ])
        .args(["--out", s(&out)])
        .run();
    let source = physical_blocks(&t, &rootfs);
    let base = physical_blocks(&t, &out.join("base.img"));
    assert!(
        source.len() >= 2048,
        "the rootfs image has too few data blocks: {}",
        source.len()
    );
    let missing = source.difference(&base).count();
    assert_eq!(
        missing,
        0,
        "{missing} of the rootfs image's {} blocks were copied, not shared",
        source.len()
    );
}

#[test]
fn reflink_on_xfs_and_extent_copy_elsewhere_give_identical_images() {
    let t = with_files(Test::new()).file(
        "recipe.yaml",
        recipe("gpt", 16, "16MiB", "64MiB", &device_secret_auth()),
    );
    let (_guard, mnt) = mount_xfs(&t);

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
