//! docs/bsp-image.md, "From a BSP SD image to a recipe", followed as
//! written: its command blocks run in order with bash in a temp dir holding
//! the repository's examples/ (a BSP-like SD image made with sfdisk: the
//! SPL raw at 8 KiB, a FAT boot partition, an ext4 rootfs; its layout read
//! with `sfdisk --dump`; cut into the recipe's inputs), its recipe block is
//! saved as `bsp.yaml`, and `burnline check` and `build` take it. Then the
//! built images are checked with the field tools: the table (sfdisk,
//! sgdisk), the SPL's bytes at 8 KiB, the boot partition with fsck.fat and
//! the rootfs with e2fsck, byte for byte the BSP's, and the credentials.

mod common;

use common::markdown::{blocks, read_page};
use common::{bootstrap_bin, burnline_bin, repo_root, s, Test};
use std::time::Duration;

const PAGE: &str = "docs/bsp-image.md";

#[test]
fn the_bsp_page_turns_an_sd_image_into_a_recipe_that_builds_it_again() {
    let page = read_page(PAGE);
    assert!(page.contains("Save this as `bsp.yaml`"), "{PAGE}");
    let t = Test::new();
    t.tool("cp")
        .args(["-r", s(&repo_root().join("examples")), "."])
        .run();
    let mut script = String::new();
    let mut recipes = 0;
    for b in blocks(PAGE) {
        match b.tag.as_str() {
            "text" => continue,
            "sh" => script.push_str(&b.text),
            "yaml" => {
                recipes += 1;
                std::fs::write(t.path().join("bsp.yaml"), &b.text).expect("bsp.yaml");
            }
            other => panic!("{PAGE}:{}: a ```{other} block", b.line),
        }
        assert_eq!(
            b.claimed_by.as_deref(),
            Some("tests/bsp_image.rs"),
            "{PAGE}:{}",
            b.line
        );
    }
    assert_eq!(recipes, 1, "{PAGE} shows one recipe");
    let bins = burnline_bin();
    let dir = bins.parent().expect("the binaries' directory");
    assert!(bootstrap_bin().starts_with(dir));
    let o = t
        .tool("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .env(
            "PATH",
            format!(
                "{}:{}",
                dir.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .run_within(Duration::from_secs(300));
    // The page's dump is what sfdisk printed.
    for line in [
        "bsp.img1 : start=        2048, size=       32768, type=c, bootable",
        "bsp.img2 : start=       34816, size=       65536, type=83",
    ] {
        assert!(o.stdout.contains(line), "{}", o.stdout);
        assert!(page.contains(line), "{PAGE} shows {line}");
    }

    let bsp = std::fs::read(t.path().join("bsp.img")).expect("bsp.img");
    let spl = std::fs::read(repo_root().join("examples/spl.bin")).expect("spl.bin");
    let csv = read_page("examples/devices.csv");
    let names: Vec<&str> = csv
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .collect();
    assert_eq!(names.len(), 4);
    let mut files: Vec<String> = std::fs::read_dir(t.path().join("images"))
        .expect("images/")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".img"))
        .collect();
    files.sort();
    assert_eq!(files.len(), names.len(), "{files:?}");
    let mut seen = Vec::new();
    for file in files {
        let rel = format!("images/{file}");
        let img = std::fs::read(t.path().join(&rel)).expect("a built image");
        assert_eq!(img.len(), 64 << 20, "{rel}");
        // The SPL at 8 KiB, the raw area and both partitions: the BSP's bytes.
        assert_eq!(
            &img[8 << 10..(8 << 10) + spl.len()],
            &spl[..],
            "{rel}: the SPL"
        );
        assert_eq!(&img[8 << 10..1 << 20], &bsp[8 << 10..1 << 20], "{rel}");
        assert!(
            img[1 << 20..49 << 20] == bsp[1 << 20..49 << 20],
            "{rel}: the boot and root partitions differ from the BSP's"
        );

        // The table, as sfdisk reads it: the BSP's two and the credentials.
        let dump = t.tool("sfdisk").args(["--json", &rel]).run().stdout;
        let json: serde_json::Value = serde_json::from_str(&dump).expect("sfdisk --json");
        let table = &json["partitiontable"];
        assert_eq!(table["label"], "dos", "{dump}");
        let parts = table["partitions"].as_array().expect("partitions");
        let got: Vec<(u64, u64, &str)> = parts
            .iter()
            .map(|p| {
                (
                    p["start"].as_u64().expect("start"),
                    p["size"].as_u64().expect("size"),
                    p["type"].as_str().expect("type"),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (2048, 32768, "c"),
                (34816, 65536, "83"),
                (100352, 2048, "83")
            ],
            "{dump}"
        );
        assert_eq!(parts[0]["bootable"], true, "{dump}");
        t.tool("sfdisk").args(["--verify", &rel]).run();
        t.tool("sgdisk")
            .args(["--verify", &rel])
            .stdout_contains("No problems found")
            .run();

        // Each file system checks clean.
        let cut = |name: &str, from: usize, len: usize| {
            let p = t.path().join(name);
            std::fs::write(&p, &img[from..from + len]).expect("a partition");
            p
        };
        let boot = cut("boot-check.img", 2048 * 512, 32768 * 512);
        t.tool("fsck.fat").args(["-n", s(&boot)]).run();
        t.tool("mdir")
            .args(["-i", s(&boot), "::"])
            .stdout_contains("cmdline")
            .run();
        let root = cut("root-check.img", 34816 * 512, 65536 * 512);
        t.tool("e2fsck").args(["-fn", s(&root)]).run();

        // And the credentials partition holds a device's record.
        let shown = t
            .burnline()
            .args(["inspect", &rel])
            .stdout_lacks("ga7XA6KdlEeiPXQPpRbAjOZXwG8ydgSe")
            .run()
            .stdout;
        let name = names
            .iter()
            .find(|n| shown.contains(&format!("device_name: {n}\n")))
            .unwrap_or_else(|| panic!("{rel}: no device's record: {shown}"));
        seen.push(*name);
    }
    seen.sort();
    let mut all = names.clone();
    all.sort();
    assert_eq!(seen, all, "one image per device");
}
