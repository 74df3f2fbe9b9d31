//! The shipped example recipes build, and their images pass the field tools;
//! the README's build command works as written.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

fn build(recipe: &str, csv: &str, out: &Path) -> std::process::Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    Command::new(env!("CARGO_BIN_EXE_burnline"))
        .args(["build", recipe, "--devices", csv, "--out"])
        .arg(out)
        .current_dir(root)
        .env("PRODUCT_SECRET", PS)
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .expect("run burnline")
}

#[test]
fn every_example_recipe_builds_clean_images() {
    let tmp = tempfile::tempdir().expect("tmp");
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
        let out = tmp.path().join(recipe.replace('/', "_"));
        let o = build(recipe, csv, &out);
        assert!(
            o.status.success(),
            "{recipe}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let img = out.join(first);
        let img_s = img.to_str().expect("utf8");
        if recipe.contains("mbr") {
            let d = tool("sfdisk", &["--dump", img_s]);
            assert!(
                text(&d).contains("label: dos") && text(&d).contains("start=        2048"),
                "{recipe}: {}",
                text(&d)
            );
        } else {
            let v = tool("sgdisk", &["-v", img_s]);
            assert!(
                text(&v).contains("No problems found"),
                "{recipe}: {}",
                text(&v)
            );
        }
        let vol = extract(&img, 1 << 20, 8 << 20, &tmp.path().join("boot.vfat"));
        let m = tool(
            "mtype",
            &[
                "-i",
                vol.to_str().expect("utf8"),
                "::/etc/burnline/bootstrap.conf",
            ],
        );
        assert_eq!(
            String::from_utf8_lossy(&m.stdout),
            "partition=creds\n",
            "{recipe}"
        );
        let sums = tool(
            "sh",
            &[
                "-c",
                &format!("cd '{}' && sha256sum -c --quiet SHA256SUMS", out.display()),
            ],
        );
        assert!(sums.status.success(), "{recipe}: {}", text(&sums));
    }
    // The MBR example's SPL blob sits at 8 KiB.
    let spl =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/spl.bin")).expect("spl");
    let img = std::fs::read(
        tmp.path()
            .join("recipes_device-secret-mbr.yaml/gw-000001.img"),
    )
    .expect("img");
    assert_eq!(&img[8192..8192 + spl.len()], &spl[..]);
}
