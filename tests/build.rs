//! The core pipeline end to end: recipe and CSV in, images out, checked with
//! the tools the field trusts.

mod common;

use common::fixtures::*;
use common::images::*;
use common::*;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

fn gpt_test(bits: u8, boot: &str, disk: &str) -> Test {
    with_files(Test::new())
        .file(
            "recipe.yaml",
            recipe("gpt", bits, boot, disk, &device_secret_auth()),
        )
        .args([
            "build",
            "recipe.yaml",
            "--devices",
            "devices.csv",
            "--out",
            "out",
        ])
}

/// Every check a GPT image must pass, for one FAT type.
fn check_gpt_images(bits: u8, boot: &str, disk: &str) {
    let t = gpt_test(bits, boot, disk);
    t.run();
    let out = t.path().join("out");
    t.tool("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(&out)
        .stdout_count(": OK", 3)
        .run();
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("manifest.json")).expect("manifest"))
            .expect("json");
    let devices = manifest["devices"].as_array().expect("devices");
    assert_eq!(devices.len(), 3);
    let prog = fs::read(t.path().join("files/bin/prog")).expect("prog");
    for d in devices {
        let file = d["file"].as_str().expect("file");
        let img = out.join(file);
        t.tool("sgdisk")
            .arg("-v")
            .arg(&img)
            .output_contains("No problems found")
            .output_lacks("Caution")
            .run();
        let disk_guid = d["disk_guid"].as_str().expect("guid").to_uppercase();
        t.tool("sgdisk")
            .arg("-p")
            .arg(&img)
            .output_contains(disk_guid)
            .run();
        let meta = fs::metadata(&img).expect("meta");
        assert_eq!(
            meta.permissions().mode() & 0o777,
            0o600,
            "{file} must be 0600"
        );
        assert!(meta.blocks() * 512 < meta.len() / 2, "{file} is not sparse");
        let vol = extract(&img, 1 << 20, parse_size(boot), &t.path().join("boot.vfat"));
        assert_fsck_clean(&t, &vol);
        let back = t.path().join("prog.back");
        let _ = fs::remove_file(&back);
        t.tool("mcopy")
            .args(["-n", "-i", s(&vol), "::/bin/prog", s(&back)])
            .run();
        assert_eq!(
            fs::read(&back).expect("read back"),
            prog,
            "mtools read /bin/prog back different"
        );
        t.tool("mtype")
            .args(["-i", s(&vol), "::/etc/app/deep/more/x.txt"])
            .stdout("deep file\n")
            .run();
        // minfo names the FAT type (`disk type="FAT16   "`).
        t.tool("minfo")
            .args(["-i", s(&vol)])
            .output_contains(format!("FAT{bits}"))
            .run();
    }
    // Two devices never share IDs.
    assert_ne!(devices[0]["disk_guid"], devices[1]["disk_guid"]);
    assert_ne!(
        devices[0]["partitions"][0]["guid"],
        devices[1]["partitions"][0]["guid"]
    );
}

fn parse_size(s: &str) -> u64 {
    s.trim_end_matches("MiB").parse::<u64>().expect("MiB") << 20
}

#[test]
fn fat16_gpt_images_pass_the_field_tools() {
    check_gpt_images(16, "16MiB", "32MiB");
}

#[test]
fn fat12_gpt_images_pass_the_field_tools() {
    check_gpt_images(12, "4MiB", "16MiB");
}

#[test]
fn fat32_gpt_images_pass_the_field_tools() {
    check_gpt_images(32, "40MiB", "64MiB");
}

#[test]
fn mbr_images_have_the_intended_layout() {
    let t = with_files(Test::new())
        .file(
            "recipe.yaml",
            recipe("mbr", 16, "16MiB", "32MiB", &device_secret_auth()),
        )
        .args([
            "build",
            "recipe.yaml",
            "--devices",
            "devices.csv",
            "--out",
            "out",
        ]);
    t.run();
    let img = t.path().join("out/gw-0001.img");
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(t.path().join("out/manifest.json")).expect("manifest"))
            .expect("json");
    let sig = manifest["devices"][0]["mbr_signature"]
        .as_str()
        .expect("signature");
    t.tool("sfdisk")
        .arg("--dump")
        .arg(&img)
        .output_contains("label: dos")
        .output_contains("start=        2048, size=       32768, type=e")
        .output_contains("start=       34816, size=        2048, type=83")
        .output_contains("start=       36864, size=       28672, type=83")
        .output_contains(format!("label-id: 0x{sig}"))
        .run();
    assert_ne!(
        manifest["devices"][0]["mbr_signature"],
        manifest["devices"][1]["mbr_signature"]
    );
    let vol = extract(&img, 1 << 20, 16 << 20, &t.path().join("boot.vfat"));
    assert_fsck_clean(&t, &vol);
    let cred = inspect_json(&t, "out/gw-0001.img", true);
    assert_eq!(cred["table"], "mbr");
    assert_eq!(cred["credentials"]["device_secret"], DS1);
}

#[test]
fn same_inputs_give_identical_bytes() {
    let t = gpt_test(16, "16MiB", "32MiB");
    t.run();
    t.run();
    let t2 = gpt_test(16, "16MiB", "32MiB");
    t2.run();
    for name in [
        "gw-0001.img",
        "gw-0002.img",
        "line%403.a%3A01.img",
        "manifest.json",
        "SHA256SUMS",
    ] {
        let a = fs::read(t.path().join("out").join(name)).expect("a");
        let b = fs::read(t2.path().join("out").join(name)).expect("b");
        assert!(a == b, "{name} differs between two runs");
    }
    // SOURCE_DATE_EPOCH changes FAT timestamps, and so the bytes.
    let t3 = gpt_test(16, "16MiB", "32MiB").env("SOURCE_DATE_EPOCH", "1800000000");
    t3.run();
    let a = fs::read(t.path().join("out/gw-0001.img")).expect("a");
    let c = fs::read(t3.path().join("out/gw-0001.img")).expect("c");
    assert!(a != c, "SOURCE_DATE_EPOCH had no effect");
}

#[test]
fn device_names_become_safe_file_names() {
    // Not a terminal: plain progress lines, counting devices.
    let t = gpt_test(16, "16MiB", "32MiB").stderr_contains("burnline: 3/3 devices done (0 failed)");
    t.run();
    let names: Vec<String> = fs::read_dir(t.path().join("out"))
        .expect("out")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.contains(&"line%403.a%3A01.img".to_owned()),
        "{names:?}"
    );
    assert!(
        names.iter().all(|n| !n.contains(':') && !n.contains('@')),
        "{names:?}"
    );
    assert!(
        !names
            .iter()
            .any(|n| n.ends_with(".burnline-tmp") || n.starts_with(".burnline-base")),
        "{names:?}"
    );
}

#[test]
fn secrets_stay_out_of_logs_and_manifest_and_inspect_redacts() {
    let t = gpt_test(16, "16MiB", "32MiB")
        .output_lacks(DS1)
        .output_lacks(DS2);
    t.run();
    for s in [DS1, DS2] {
        for f in ["manifest.json", "SHA256SUMS"] {
            let body = fs::read_to_string(t.path().join("out").join(f)).expect("read");
            assert!(!body.contains(s), "a secret is in {f}");
        }
    }
    let red = inspect_json(&t, "out/gw-0002.img", false);
    assert_eq!(red["credentials"]["device_secret"], "<redacted>");
    assert_eq!(red["credentials"]["device_name"], "gw-0002");
    assert_eq!(red["credentials"]["slot"], "A");
    assert_eq!(red["credentials"]["sequence"], 1);
    let clear = inspect_json(&t, "out/gw-0002.img", true);
    assert_eq!(clear["credentials"]["device_secret"], DS2);
    assert_eq!(clear["credentials"]["product_key"], PK);
    assert_eq!(clear["credentials"]["region"], "cn-shanghai");
    t.cmd()
        .args(["inspect", "out/gw-0002.img"])
        .stdout_contains("<redacted>")
        .stdout_lacks(DS2)
        .run();
}

#[test]
fn product_secret_mode_carries_the_product_certificate() {
    let auth = format!("auth:\n  mode: product-secret\n  product_key: {PK}\n  product_secret: {{ env: TEST_PS }}\n  endpoint: http://127.0.0.1:9\n");
    let t = with_files(Test::new())
        .file("recipe.yaml", recipe("gpt", 16, "16MiB", "32MiB", &auth))
        .file(
            "template.csv",
            "\u{feff}Nickname,devicename\nfirst,gw-0100\nsecond,gw-0101\n",
        )
        .env("TEST_PS", PS)
        .args([
            "build",
            "recipe.yaml",
            "--devices",
            "template.csv",
            "--out",
            "out",
        ])
        .stderr_lacks(PS);
    t.run();
    let c = inspect_json(&t, "out/gw-0101.img", true);
    assert_eq!(c["credentials"]["product_secret"], PS);
    assert!(c["credentials"]["device_secret"].is_null());
    assert_eq!(c["credentials"]["endpoint"], "http://127.0.0.1:9");
    let body = fs::read_to_string(t.path().join("out/manifest.json")).expect("manifest");
    assert!(!body.contains(PS));
}

#[test]
fn fat_credentials_format_holds_the_json_file() {
    let r = recipe("gpt", 16, "16MiB", "32MiB", &device_secret_auth()).replace(
        "credentials: {}",
        "credentials:\n      format: fat\n      path: /iot/triple.json\n      label: CREDS",
    );
    let t = with_files(Test::new()).file("recipe.yaml", r).args([
        "build",
        "recipe.yaml",
        "--devices",
        "devices.csv",
        "--out",
        "out",
    ]);
    t.run();
    let img = t.path().join("out/gw-0001.img");
    let vol = extract(&img, 17 << 20, 1 << 20, &t.path().join("creds.vfat"));
    assert_fsck_clean(&t, &vol);
    let json = t
        .tool("mtype")
        .args(["-i", s(&vol), "::/iot/triple.json"])
        .stdout_json();
    assert_eq!(json["device_secret"], DS1);
    assert_eq!(json["device_name"], "gw-0001");
    let v = t
        .cmd()
        .args([
            "inspect",
            "out/gw-0001.img",
            "--json",
            "--credentials-path",
            "iot/triple.json",
        ])
        .stdout_json();
    assert_eq!(v["credentials"]["format"], "fat");
    assert_eq!(v["credentials"]["device_secret"], "<redacted>");
}

#[test]
fn raw_images_and_blobs_land_where_the_recipe_says() {
    let rootfs: Vec<u8> = (0..(3u32 << 20)).map(|i| (i % 251) as u8 + 1).collect();
    let spl: Vec<u8> = (0..20_000u32).map(|i| (i % 13) as u8 + 7).collect();
    let r = concat!(
        "disk:\n  size: 16MiB\n  table: mbr\n  seed: 00112233445566778899aabbccddeeff\n",
        "partitions:\n  - name: creds\n    size: 1MiB\n    credentials: {}\n",
        "  - name: rootfs\n    size: 4MiB\n    image: rootfs.ext4\n  - name: data\n    size: fill\n",
        "blobs:\n  - source: spl.bin\n    offset: 8KiB\n",
        "auth:\n  mode: device-secret\n"
    );
    let t = Test::new()
        .file("recipe.yaml", r)
        .file("rootfs.ext4", &rootfs)
        .file("spl.bin", &spl)
        .file("devices.csv", devices_csv())
        .args([
            "build",
            "recipe.yaml",
            "--devices",
            "devices.csv",
            "--out",
            "out",
        ]);
    t.run();
    let img = fs::read(t.path().join("out/gw-0001.img")).expect("img");
    assert_eq!(&img[8192..8192 + spl.len()], &spl[..]);
    assert_eq!(&img[2 << 20..(2 << 20) + rootfs.len()], &rootfs[..]);
    assert!(img[(2 << 20) + rootfs.len()..6 << 20]
        .iter()
        .all(|b| *b == 0));
}

#[test]
fn verify_catches_a_changed_file() {
    let t = gpt_test(16, "16MiB", "32MiB");
    t.run();
    t.cmd().args(["verify", "out"]).run();
    let f = fs::OpenOptions::new()
        .write(true)
        .open(t.path().join("out/gw-0002.img"))
        .expect("open");
    std::os::unix::fs::FileExt::write_all_at(&f, b"X", 20 << 20).expect("write");
    t.cmd()
        .args(["verify", "out"])
        .status(1)
        .stderr_contains("gw-0002.img: sha256 differs")
        .run();
}

#[test]
fn plan_prints_the_layout() {
    let t = with_files(Test::new())
        .file(
            "recipe.yaml",
            recipe("gpt", 16, "16MiB", "32MiB", &device_secret_auth()),
        )
        .args(["plan", "recipe.yaml"])
        .stdout_contains("bootstrap")
        .stdout_contains("1048576")
        .stdout_contains("17825792")
        .stdout_contains("credentials (record)")
        .stdout_contains("fat16");
    t.run();
}

#[test]
fn many_devices_in_parallel() {
    let mut csv = String::from("devicename,productkey,devicesecret\n");
    for i in 0..150 {
        csv.push_str(&format!("dev-{i:05},{PK},{DS1}\n"));
    }
    let t = with_files(Test::new())
        .file(
            "recipe.yaml",
            recipe("gpt", 12, "4MiB", "8MiB", &device_secret_auth()),
        )
        .file("many.csv", csv)
        .args([
            "build",
            "recipe.yaml",
            "--devices",
            "many.csv",
            "--out",
            "out",
            "--jobs",
            "4",
            "--json",
        ]);
    let summary = t.stdout_json();
    assert_eq!(summary["built"], 150);
    t.tool("sha256sum")
        .args(["-c", "--quiet", "SHA256SUMS"])
        .current_dir(t.path().join("out"))
        .run();
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(t.path().join("out/manifest.json")).expect("m"))
            .expect("json");
    let names: Vec<&str> = manifest["devices"]
        .as_array()
        .expect("a")
        .iter()
        .map(|d| d["device_name"].as_str().expect("n"))
        .collect();
    let want: Vec<String> = (0..150).map(|i| format!("dev-{i:05}")).collect();
    assert_eq!(names, want, "the manifest is not in CSV order");
}

#[test]
fn a_terminal_gets_one_progress_bar() {
    let t = gpt_test(12, "4MiB", "8MiB");
    // `script` (util-linux) runs the build on a pseudo-terminal: a progress
    // bar, no plain progress lines, no secret.
    let cmd = format!(
        "'{}' build recipe.yaml --devices devices.csv --out out",
        s(&burnline_bin())
    );
    t.tool("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output_contains("3/3 devices")
        .output_lacks("devices done (")
        .output_lacks(DS1)
        .output_lacks(DS2)
        .run();
}

#[test]
fn verify_covers_the_delta_set_base_and_side_files() {
    let t = gpt_test(12, "4MiB", "8MiB");
    t.cmd()
        .args([
            "build",
            "recipe.yaml",
            "--devices",
            "devices.csv",
            "--out",
            "st",
            "--deltas",
            "--bmap",
        ])
        .run();
    // 3 deltas, base.img and its bmap.
    t.cmd()
        .args(["verify", "st"])
        .stdout_contains("ok: 5 file(s) match")
        .run();
    let f = fs::OpenOptions::new()
        .write(true)
        .open(t.path().join("st/base.img"))
        .expect("open");
    std::os::unix::fs::FileExt::write_all_at(&f, b"X", 3 << 20).expect("write");
    t.cmd()
        .args(["verify", "st"])
        .status(1)
        .stderr_contains("error: base.img: sha256 differs from the manifest")
        .run();
}

#[test]
fn mbr_with_4096_byte_sectors() {
    let (t, img) = built_with_4k_sectors("mbr");
    // fdisk reads the table with the sector size given.
    let d = t
        .tool("fdisk")
        .args(["-b", "4096", "-l", s(&img)])
        .run()
        .text();
    let rows: Vec<Vec<&str>> = d
        .lines()
        .filter(|l| l.contains("gw-0001.img"))
        .filter(|l| !l.starts_with("Disk"))
        .map(|l| l.split_whitespace().filter(|w| *w != "*").collect())
        .collect();
    assert_eq!(rows.len(), 3, "{d}");
    assert_eq!(&rows[0][1..4], ["256", "4351", "4096"], "{d}");
    assert_eq!(&rows[1][1..4], ["4352", "4607", "256"], "{d}");
    let vol = extract(&img, 1 << 20, 16 << 20, &t.path().join("boot.vfat"));
    assert_fsck_clean(&t, &vol);
    t.tool("minfo")
        .args(["-i", s(&vol)])
        .output_contains("sector size: 4096 bytes")
        .run();
    // inspect works out the sector size and finds the record.
    let c = inspect_json(&t, "out/gw-0001.img", true);
    assert_eq!(c["partitions"][1]["start"], 17825792);
    assert_eq!(c["credentials"]["device_secret"], DS1);
}

#[test]
fn gpt_with_4096_byte_sectors_passes_sgdisk_on_a_4k_loop_device() {
    let (t, img) = built_with_4k_sectors("gpt");
    // losetup needs root.
    let dev = LoopDevice::attach(&t, &img, &["--sector-size", "4096", "--read-only"]);
    let dev = dev.path();
    t.tool("sgdisk")
        .args(["-v", dev])
        .output_contains("No problems found")
        .run();
    t.tool("sgdisk")
        .args(["-p", dev])
        .output_contains("Sector size (logical/physical): 4096/4096 bytes")
        .output_contains("First usable sector is 6")
        .run();
    let c = inspect_json(&t, "out/gw-0001.img", false);
    assert_eq!(c["partitions"][1]["start"], 17825792);
    assert_eq!(c["credentials"]["device_name"], "gw-0001");
}

/// Builds the test recipe on `table` with 4096-byte sectors (FAT type left
/// to burnline); returns the test and the first device's image.
fn built_with_4k_sectors(table: &str) -> (Test, std::path::PathBuf) {
    let r = recipe(table, 12, "16MiB", "64MiB", &device_secret_auth())
        .replace(
            &format!("  table: {table}"),
            &format!("  table: {table}\n  sector_size: 4096"),
        )
        .replace("      type: 12\n", "");
    let t = with_files(Test::new()).file("recipe.yaml", r).args([
        "build",
        "recipe.yaml",
        "--devices",
        "devices.csv",
        "--out",
        "out",
    ]);
    t.run();
    let img = t.path().join("out/gw-0001.img");
    (t, img)
}
