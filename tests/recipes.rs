//! The shipped example recipes build, and their images pass the field tools;
//! the README's build command (README.md, "The two commands") works as written.

mod common;

use common::images::extract;
use common::*;

#[test]
fn every_example_recipe_builds_clean_images() {
    let t = Test::new();
    for (recipe, csv, first) in [
        (
            "recipes/example.yaml",
            "examples/devices.csv",
            "gw-000001.img",
        ),
        (
            "recipes/product-secret-gpt.yaml",
            "examples/devices-template.csv",
            "gw-100001.img",
        ),
        (
            "recipes/device-secret-mbr.yaml",
            "examples/devices.csv",
            "gw-000001.img",
        ),
        (
            "recipes/product-secret-mbr.yaml",
            "examples/devices-template.csv",
            "gw-100001.img",
        ),
    ] {
        let out = t.path().join(recipe.replace('/', "_"));
        // As the README says: from the repository root.
        t.cmd()
            .args(["build", recipe, "--devices", csv, "--out"])
            .arg(&out)
            .current_dir(repo_root())
            .env("PRODUCT_SECRET", PS)
            .run();
        let img = out.join(first);
        if recipe.contains("mbr") {
            t.tool("sfdisk")
                .arg("--dump")
                .arg(&img)
                .output_contains("label: dos")
                .output_contains("start=        2048")
                .run();
        } else {
            t.tool("sgdisk")
                .arg("-v")
                .arg(&img)
                .output_contains("No problems found")
                .run();
        }
        let vol = extract(&img, 1 << 20, 8 << 20, &t.path().join("boot.vfat"));
        t.tool("mtype")
            .args(["-i", s(&vol), "::/etc/burnline/bootstrap.conf"])
            .stdout("partition=creds\n")
            .run();
        t.tool("sha256sum")
            .args(["-c", "--quiet", "SHA256SUMS"])
            .current_dir(&out)
            .run();
    }
    // The MBR example's SPL blob sits at 8 KiB.
    let spl = std::fs::read(repo_root().join("examples/spl.bin")).expect("spl");
    let img = std::fs::read(
        t.path()
            .join("recipes_device-secret-mbr.yaml/gw-000001.img"),
    )
    .expect("img");
    assert_eq!(&img[8192..8192 + spl.len()], &spl[..]);
}
