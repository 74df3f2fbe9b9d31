//! The core pipeline end to end: recipe and CSV in, images out, checked with
//! the tools the field trusts.

mod common;

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
    t.success();
    let out = t.path().join("out");
    let sums = tool(
        "sh",
        &[
            "-c",
            &format!("cd {} && sha256sum -c SHA256SUMS", out.display()),
        ],
    );
    assert!(sums.status.success(), "sha256sum -c: {}", text(&sums));
    assert_eq!(text(&sums).matches(": OK").count(), 3);
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("manifest.json")).expect("manifest"))
            .expect("json");
    let devices = manifest["devices"].as_array().expect("devices");
    assert_eq!(devices.len(), 3);
    let prog = fs::read(t.path().join("files/bin/prog")).expect("prog");
    for d in devices {
        let file = d["file"].as_str().expect("file");
        let img = out.join(file);
        let v = tool("sgdisk", &["-v", img.to_str().expect("utf8")]);
        assert!(
            text(&v).contains("No problems found"),
            "sgdisk -v {file}: {}",
            text(&v)
        );
        assert!(
            !text(&v).contains("Caution"),
            "sgdisk -v {file}: {}",
            text(&v)
        );
        let p = tool("sgdisk", &["-p", img.to_str().expect("utf8")]);
        let disk_guid = d["disk_guid"].as_str().expect("guid").to_uppercase();
        assert!(
            text(&p).contains(&disk_guid),
            "disk GUID {disk_guid} not in sgdisk -p:\n{}",
            text(&p)
        );
        let meta = fs::metadata(&img).expect("meta");
        assert_eq!(
            meta.permissions().mode() & 0o777,
            0o600,
            "{file} must be 0600"
        );
        assert!(meta.blocks() * 512 < meta.len() / 2, "{file} is not sparse");
        let vol = extract(&img, 1 << 20, parse_size(boot), &t.path().join("boot.vfat"));
        assert_fsck_clean(&vol);
        let back = t.path().join("prog.back");
        let _ = fs::remove_file(&back);
        let m = tool(
            "mcopy",
            &[
                "-n",
                "-i",
                vol.to_str().expect("utf8"),
                "::/bin/prog",
                back.to_str().expect("utf8"),
            ],
        );
        assert!(m.status.success(), "mcopy: {}", text(&m));
        assert_eq!(
            fs::read(&back).expect("read back"),
            prog,
            "mtools read /bin/prog back different"
        );
        let deep = tool(
            "mtype",
            &[
                "-i",
                vol.to_str().expect("utf8"),
                "::/etc/app/deep/more/x.txt",
            ],
        );
        assert_eq!(String::from_utf8_lossy(&deep.stdout), "deep file\n");
        let info = tool("minfo", &["-i", vol.to_str().expect("utf8")]);
        let want = format!("FAT{bits}");
        assert!(
            text(&info).contains(&format!("disk type=\"{want}")) || text(&info).contains(&want),
            "minfo: {}",
            text(&info)
        );
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
    t.success();
    let img = t.path().join("out/gw-0001.img");
    let dump = tool("sfdisk", &["--dump", img.to_str().expect("utf8")]);
    let d = text(&dump);
    assert!(d.contains("label: dos"), "{d}");
    assert!(
        d.contains("start=        2048, size=       32768, type=e"),
        "{d}"
    );
    assert!(
        d.contains("start=       34816, size=        2048, type=83"),
        "{d}"
    );
    assert!(
        d.contains("start=       36864, size=       28672, type=83"),
        "{d}"
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(t.path().join("out/manifest.json")).expect("manifest"))
            .expect("json");
    let sig = manifest["devices"][0]["mbr_signature"]
        .as_str()
        .expect("signature");
    assert!(
        d.contains(&format!("label-id: 0x{sig}")),
        "label-id 0x{sig} not in:\n{d}"
    );
    assert_ne!(
        manifest["devices"][0]["mbr_signature"],
        manifest["devices"][1]["mbr_signature"]
    );
    let vol = extract(&img, 1 << 20, 16 << 20, &t.path().join("boot.vfat"));
    assert_fsck_clean(&vol);
    let cred = inspect_json(&t, "out/gw-0001.img", true);
    assert_eq!(cred["table"], "mbr");
    assert_eq!(cred["credentials"]["device_secret"], DS1);
}

#[test]
fn same_inputs_give_identical_bytes() {
    let t = gpt_test(16, "16MiB", "32MiB");
    t.success();
    let again = t.run();
    assert_eq!(again.code, 0);
    let t2 = gpt_test(16, "16MiB", "32MiB");
    t2.success();
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
    t3.success();
    let a = fs::read(t.path().join("out/gw-0001.img")).expect("a");
    let c = fs::read(t3.path().join("out/gw-0001.img")).expect("c");
    assert!(a != c, "SOURCE_DATE_EPOCH had no effect");
}

#[test]
fn device_names_become_safe_file_names() {
    let t = gpt_test(16, "16MiB", "32MiB");
    let o = t.success();
    // Not a terminal: plain progress lines, counting devices.
    assert!(
        o.stderr.contains("burnline: 3/3 devices done (0 failed)"),
        "{}",
        o.stderr
    );
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
    let t = gpt_test(16, "16MiB", "32MiB");
    let o = t.success();
    for s in [DS1, DS2] {
        assert!(
            !o.stdout.contains(s) && !o.stderr.contains(s),
            "a secret was printed"
        );
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
    let text_out = t.run_with(&["inspect", "out/gw-0002.img"]).stdout;
    assert!(
        text_out.contains("<redacted>") && !text_out.contains(DS2),
        "{text_out}"
    );
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
        ]);
    let o = t.success();
    assert!(!o.stderr.contains(PS));
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
    t.success();
    let img = t.path().join("out/gw-0001.img");
    let vol = extract(&img, 17 << 20, 1 << 20, &t.path().join("creds.vfat"));
    assert_fsck_clean(&vol);
    let m = tool(
        "mtype",
        &["-i", vol.to_str().expect("utf8"), "::/iot/triple.json"],
    );
    let json: serde_json::Value = serde_json::from_slice(&m.stdout).expect("json in FAT");
    assert_eq!(json["device_secret"], DS1);
    assert_eq!(json["device_name"], "gw-0001");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_burnline"))
        .args([
            "inspect",
            "out/gw-0001.img",
            "--json",
            "--credentials-path",
            "iot/triple.json",
        ])
        .current_dir(t.path())
        .output()
        .expect("inspect");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
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
    t.success();
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
    t.success();
    let ok = std::process::Command::new(env!("CARGO_BIN_EXE_burnline"))
        .args(["verify", "out"])
        .current_dir(t.path())
        .output()
        .expect("verify");
    assert!(ok.status.success());
    let f = fs::OpenOptions::new()
        .write(true)
        .open(t.path().join("out/gw-0002.img"))
        .expect("open");
    std::os::unix::fs::FileExt::write_all_at(&f, b"X", 20 << 20).expect("write");
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_burnline"))
        .args(["verify", "out"])
        .current_dir(t.path())
        .output()
        .expect("verify");
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("gw-0002.img: sha256 differs"));
}

#[test]
fn plan_prints_the_layout() {
    let t = with_files(Test::new())
        .file(
            "recipe.yaml",
            recipe("gpt", 16, "16MiB", "32MiB", &device_secret_auth()),
        )
        .args(["plan", "recipe.yaml"]);
    let o = t.success();
    assert!(
        o.stdout.contains("bootstrap")
            && o.stdout.contains("1048576")
            && o.stdout.contains("17825792"),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("credentials (record)"), "{}", o.stdout);
    assert!(o.stdout.contains("fat16"), "{}", o.stdout);
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
    let o = t.success();
    let summary: serde_json::Value = serde_json::from_str(o.stdout.trim()).expect("json summary");
    assert_eq!(summary["built"], 150);
    let sums = tool(
        "sh",
        &[
            "-c",
            &format!(
                "cd {}/out && sha256sum -c --quiet SHA256SUMS",
                t.path().display()
            ),
        ],
    );
    assert!(sums.status.success(), "{}", text(&sums));
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
    let bin = env!("CARGO_BIN_EXE_burnline");
    // `script` (util-linux) runs the build on a pseudo-terminal.
    let cmd = format!(
        "cd '{}' && '{bin}' build recipe.yaml --devices devices.csv --out out",
        t.path().display()
    );
    let o = tool("script", &["-qec", &cmd, "/dev/null"]);
    let shown = text(&o);
    assert!(o.status.success(), "{shown}");
    assert!(
        shown.contains("3/3 devices"),
        "no progress bar on a terminal:\n{shown}"
    );
    assert!(
        !shown.contains("devices done ("),
        "plain progress lines on a terminal:\n{shown}"
    );
    assert!(!shown.contains(DS1) && !shown.contains(DS2));
}

#[test]
fn verify_covers_the_station_base_and_side_files() {
    let t = gpt_test(12, "4MiB", "8MiB");
    let o = t.run_with(&[
        "build",
        "recipe.yaml",
        "--devices",
        "devices.csv",
        "--out",
        "st",
        "--station",
        "--bmap",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let ok = t.run_with(&["verify", "st"]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(
        ok.stdout.contains("ok: 5 file(s) match"),
        "3 deltas, base.img and its bmap: {}",
        ok.stdout
    );
    let f = fs::OpenOptions::new()
        .write(true)
        .open(t.path().join("st/base.img"))
        .expect("open");
    std::os::unix::fs::FileExt::write_all_at(&f, b"X", 3 << 20).expect("write");
    let bad = t.run_with(&["verify", "st"]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr
            .contains("error: base.img: sha256 differs from the manifest"),
        "{}",
        bad.stderr
    );
}

#[test]
fn mbr_with_4096_byte_sectors() {
    let (t, img) = built_with_4k_sectors("mbr");
    // fdisk reads the table with the sector size given.
    let dump = tool("fdisk", &["-b", "4096", "-l", img.to_str().expect("utf8")]);
    let d = text(&dump);
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
    assert_fsck_clean(&vol);
    let info = tool("minfo", &["-i", vol.to_str().expect("utf8")]);
    assert!(
        text(&info).contains("sector size: 4096 bytes"),
        "{}",
        text(&info)
    );
    // inspect works out the sector size and finds the record.
    let c = inspect_json(&t, "out/gw-0001.img", true);
    assert_eq!(c["partitions"][1]["start"], 17825792);
    assert_eq!(c["credentials"]["device_secret"], DS1);
}

#[test]
fn gpt_with_4096_byte_sectors_passes_sgdisk_on_a_4k_loop_device() {
    let (t, img) = built_with_4k_sectors("gpt");
    let l = tool(
        "losetup",
        &[
            "--sector-size",
            "4096",
            "--find",
            "--show",
            "--read-only",
            img.to_str().expect("utf8"),
        ],
    );
    assert!(l.status.success(), "losetup needs root: {}", text(&l));
    let dev = String::from_utf8_lossy(&l.stdout).trim().to_owned();
    let v = tool("sgdisk", &["-v", &dev]);
    let p = tool("sgdisk", &["-p", &dev]);
    let _ = tool("losetup", &["-d", &dev]);
    assert!(
        text(&v).contains("No problems found"),
        "sgdisk -v: {}",
        text(&v)
    );
    assert!(
        text(&p).contains("Sector size (logical/physical): 4096/4096 bytes"),
        "{}",
        text(&p)
    );
    assert!(
        text(&p).contains("First usable sector is 6"),
        "{}",
        text(&p)
    );
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
    t.success();
    let img = t.path().join("out/gw-0001.img");
    (t, img)
}
