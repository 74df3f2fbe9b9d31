//! The inputs the tests build from. Two recipes: `recipe()`, a disk of a
//! given table, size and FAT type whose boot partition holds a nested host
//! tree (`with_files`), and `fixture()`, a small 8 MiB GPT disk for the
//! tests that build many times (station output, flash, bmap, compression,
//! shards, resume); and their device CSVs.

use super::{Test, DS1, DS2, PK};
use std::path::{Path, PathBuf};

/// A recipe for tests: GPT or MBR, FAT boot partition with `fat_bits`, a
/// credentials partition and a fill partition.
pub fn recipe(table: &str, fat_bits: u8, boot_size: &str, disk: &str, auth: &str) -> String {
    let (boot_type, creds_type, data_type) = if table == "gpt" {
        ("basic-data", "linux", "linux")
    } else {
        (
            match fat_bits {
                12 => "fat12",
                32 => "fat32",
                _ => "fat16",
            },
            "0x83",
            "linux",
        )
    };
    let lines = [
        "disk:".to_owned(),
        format!("  size: {disk}"),
        format!("  table: {table}"),
        "  seed: 0123456789abcdef0123456789abcdef".to_owned(),
        "  source_date_epoch: 1700000000".to_owned(),
        "partitions:".to_owned(),
        "  - name: bootstrap".to_owned(),
        format!("    size: {boot_size}"),
        format!("    type: {boot_type}"),
        "    fat:".to_owned(),
        format!("      type: {fat_bits}"),
        "      label: BOOT".to_owned(),
        "      files:".to_owned(),
        "        - source: files".to_owned(),
        "          dest: /".to_owned(),
        "        - source: files/bin/prog".to_owned(),
        "          dest: /top.bin".to_owned(),
        "  - name: creds".to_owned(),
        "    size: 1MiB".to_owned(),
        format!("    type: {creds_type}"),
        "    credentials: {}".to_owned(),
        "  - name: data".to_owned(),
        "    size: fill".to_owned(),
        format!("    type: {data_type}"),
    ];
    format!("{}\n{auth}", lines.join("\n"))
}

pub fn device_secret_auth() -> String {
    format!("auth:\n  mode: device-secret\n  product_key: {PK}\n  region: cn-shanghai\n")
}

pub fn devices_csv() -> String {
    format!("DeviceName,DeviceSecret,ProductKey\ngw-0001,{DS1},{PK}\ngw-0002,{DS2},{PK}\nline@3.a:01,{DS1},{PK}\n")
}

/// A test with host files (a nested tree) and a device CSV.
pub fn with_files(t: Test) -> Test {
    let prog: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    t.file("files/bin/prog", prog)
        .file("files/etc/app/conf.txt", "key=value\n")
        .file("files/etc/app/deep/more/x.txt", "deep file\n")
        .file("files/README.TXT", "readme\n")
        .file("devices.csv", devices_csv())
}

/// Writes the small recipe (8 MiB GPT disk, a 2 MiB FAT partition with a
/// file, a 1 MiB credentials partition and a fill partition) as
/// `recipe.yaml`, its `hello.txt`, and `devices.csv` with `n` devices into
/// `dir`; `output` is extra YAML for the `output:` section.
pub fn fixture(dir: &Path, n: usize, output: &str) -> (PathBuf, PathBuf) {
    std::fs::write(dir.join("hello.txt"), b"hello from the base image\n").expect("hello");
    let recipe = format!(
        "disk: {{size: 8MiB, table: gpt, seed: 0123456789abcdef0123456789abcdef}}\n\
         partitions:\n\
         \x20 - {{name: boot, size: 2MiB, type: esp, fat: {{files: [{{source: hello.txt, dest: /hello.txt}}]}}}}\n\
         \x20 - {{name: creds, size: 1MiB, credentials: {{}}}}\n\
         \x20 - {{name: data, size: fill}}\n\
         auth: {{mode: device-secret, product_key: a1X2bEnP82z}}\n{output}"
    );
    let rp = dir.join("recipe.yaml");
    std::fs::write(&rp, recipe).expect("recipe");
    let mut csv = String::from("DeviceName,DeviceSecret,ProductKey\n");
    for i in 1..=n {
        csv.push_str(&format!(
            "gw-{i:04},ga7XA6KdlEeiPXQPpRbAjOZXwG8yd{i:03},a1X2bEnP82z\n"
        ));
    }
    let cp = dir.join("devices.csv");
    std::fs::write(&cp, csv).expect("csv");
    (rp, cp)
}

/// The image file names of `fixture()`'s first `n` devices.
pub fn names(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("gw-{i:04}.img")).collect()
}
