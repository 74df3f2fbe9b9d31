//! Bad input: every broken rule is reported on its own line naming the file
//! and line (CSV) or line, column and field (YAML), with exit 2, and nothing
//! is written.

mod common;

use common::fixtures::*;
use common::*;
use std::fs;

/// The `error: ` lines of a run's stderr.
fn errors(o: &Outcome) -> Vec<String> {
    o.stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .map(str::to_owned)
        .collect()
}

fn good_recipe() -> String {
    recipe("gpt", 16, "16MiB", "32MiB", &device_secret_auth())
}

#[test]
fn every_csv_problem_is_listed_with_its_line() {
    let csv = format!(
        "DeviceName,DeviceSecret,ProductKey\n\
gw-0001,{DS1},{PK}\n\
abc,{DS1},{PK}\n\
gw-0003,,{PK}\n\
gw-0004,{DS1},a1X2bEnP82Q\n\
gw-0001,{DS2},{PK}\n\
gw/0006,{DS1},{PK}\n\
gw-0007,{long},{PK}\n",
        long = "x".repeat(33)
    );
    let t = with_files(Test::new())
        .file("recipe.yaml", good_recipe())
        .file("devices.csv", csv)
        .args([
            "build",
            "recipe.yaml",
            "--devices",
            "devices.csv",
            "--out",
            "out",
        ])
        .status(2)
        .output_lacks(DS1)
        .output_lacks(DS2)
        .absent("out");
    let o = t.run();
    let e = errors(&o);
    let want = [
        "error: devices.csv:3: DeviceName: must be 4 to 32 characters, found 3",
        "error: devices.csv:4: DeviceSecret: must not be empty",
        "error: devices.csv:5: ProductKey: `a1X2bEnP82Q` differs from the recipe's auth.product_key `a1X2bEnP82z`",
        "error: devices.csv:6: DeviceName: `gw-0001` already appears on line 2",
        "error: devices.csv:7: DeviceName: may hold only A-Z a-z 0-9 - _ @ . : (found '/')",
        "error: devices.csv:8: DeviceSecret: must be at most 32 characters, found 33",
    ];
    assert_eq!(e, want, "stderr:\n{}", o.stderr);
}

#[test]
fn check_reports_recipe_and_layout_problems_with_positions() {
    let r = good_recipe()
        .replace("size: 16MiB", "size: 40MiB")
        .replace("label: BOOT", "label: BOOT\n      colour: red");
    let o = with_files(Test::new())
        .file("recipe.yaml", r)
        .args(["check", "recipe.yaml", "--devices", "devices.csv"])
        .status(2)
        // The key is not quoted (a parser's message never quotes its
        // input); the position points at it.
        .error_line("partitions[0].fat: unknown field, expected one of `type`, `label`, `files`")
        .stderr_lacks("colour")
        .run();
    let e = errors(&o);
    assert_eq!(e.len(), 1, "{}", o.stderr);
    assert!(e[0].starts_with("error: recipe.yaml:13:7: "), "{}", e[0]);
    assert!(!e[0].contains("at line"), "{}", e[0]);

    let r = good_recipe().replace("size: 16MiB", "size: 40MiB");
    let o = with_files(Test::new())
        .file("recipe.yaml", r)
        .args(["check", "recipe.yaml", "--devices", "devices.csv"])
        .status(2)
        .run();
    let e = errors(&o);
    assert!(
        e.iter().any(|l| l
            .starts_with("error: recipe.yaml:8:11: partitions[0].size: partition `bootstrap`")
            && l.contains("does not fit")),
        "{}",
        o.stderr
    );
}

#[test]
fn all_recipe_rules_are_reported_together() {
    let r = "disk:\n  size: 10 furlongs\n  table: apm\n  sector_size: 1000\n  seed: nothex\n\
partitions:\n  - name: a\n    size: fill\n    type: bogus\n  - name: a\n    size: 1MiB\n\
auth:\n  mode: psk\n  product_key: short\n";
    let mut t = Test::new()
        .file("recipe.yaml", r)
        .file("d.csv", "DeviceName\nabcd\n")
        .args(["check", "recipe.yaml", "--devices", "d.csv"])
        .status(2);
    for want in [
        "recipe.yaml:2:9: disk.size: unknown unit",
        "recipe.yaml:3:10: disk.table: must be `gpt` or `mbr`, found `apm`",
        "recipe.yaml:4:16: disk.sector_size: must be 512 or 4096, found 1000",
        "recipe.yaml:5:9: disk.seed: must be 32 hex digits",
        "recipe.yaml:8:11: partitions[0].size: only the last partition may be `fill`",
        "recipe.yaml:10:11: partitions[1].name: partition name `a` is used twice",
        "partitions: exactly one partition must have `credentials:`, found 0",
        "recipe.yaml:13:9: auth.mode: must be `device-secret`",
        "recipe.yaml:14:16: auth.product_key: must be 11 characters, found 5",
    ] {
        t = t.error_line(want);
    }
    t.run();
}

#[test]
fn layout_rules() {
    // Overlap, misalignment, a file too large, a FAT too small for its type,
    // a blob over the GPT entries.
    let big = vec![1u8; 3 << 20];
    let r = concat!(
        "disk:\n  size: 32MiB\n  table: gpt\n  seed: 0123456789abcdef0123456789abcdef\n",
        "partitions:\n",
        "  - name: boot\n    size: 2MiB\n    fat:\n      type: 32\n",
        "  - name: creds\n    size: 1MiB\n    offset: 2MiB\n    credentials: {}\n",
        "  - name: root\n    size: 2MiB\n    offset: 5000000\n    image: big.bin\n",
        "blobs:\n  - source: spl.bin\n    offset: 8KiB\n",
        "auth:\n  mode: device-secret\n  product_key: a1X2bEnP82z\n",
    );
    let mut t = Test::new()
        .file("recipe.yaml", r)
        .file("big.bin", big)
        .file("spl.bin", vec![2u8; 4096])
        .file("devices.csv", devices_csv())
        .args(["check", "recipe.yaml", "--devices", "devices.csv"])
        .status(2);
    for want in [
        "partitions[0].fat: a 2097152-byte volume is too small for FAT32",
        "partitions[1].offset: overlaps partition `boot`, which ends at byte 3145728",
        "partitions[2].offset: 5000000 is not aligned to disk.alignment (1048576)",
        "partitions[2].image: `",
        "is 3145728 bytes, larger than its partition (2097152 bytes)",
        "blobs[0].offset: the blob (8192..12288) overlaps the partition table (0..17408)",
    ] {
        t = t.error_line(want);
    }
    t.run();
}

#[test]
fn missing_inputs_and_columns() {
    let r = good_recipe().replace("source: files/bin/prog", "source: files/bin/nope");
    with_files(Test::new())
        .file("recipe.yaml", r)
        .file("names.csv", "DeviceName,Nickname\ngw-0001,a\n")
        .args(["check", "recipe.yaml", "--devices", "names.csv"])
        .status(2)
        .error_line("partitions[0].fat.files[1].source: cannot read `")
        .error_line(
            "names.csv:1: DeviceSecret: the recipe's auth.mode is device-secret (一机一密), \
             but the CSV has no DeviceSecret column (a 一型一密 list or the batch-create \
             template): use the console's certificate download, or a product-secret recipe",
        )
        .run();

    with_files(Test::new())
        .file("recipe.yaml", good_recipe())
        .args(["check", "recipe.yaml", "--devices", "absent.csv"])
        .status(2)
        .stderr_contains("error: absent.csv: cannot read the device CSV")
        .run();
}

#[test]
fn product_secret_rules() {
    let auth = format!("auth:\n  mode: product-secret\n  product_key: {PK}\n  product_secret: {{ file: ps.txt }}\n");
    with_files(Test::new())
        .file("recipe.yaml", recipe("gpt", 16, "16MiB", "32MiB", &auth))
        .file("ps.txt", "tooshort\n")
        .args(["check", "recipe.yaml", "--devices", "devices.csv"])
        .status(2)
        .stderr_contains("auth.product_secret: must be 16 or 32 characters, found 8")
        .output_lacks("tooshort")
        .run();

    let auth =
        format!("auth:\n  mode: product-secret\n  product_key: {PK}\n  product_secret: {PS}\n");
    with_files(Test::new())
        .file("recipe.yaml", recipe("gpt", 16, "16MiB", "32MiB", &auth))
        // 一型一密: a list without DeviceSecrets.
        .file("devices.csv", "DeviceName\ngw-0001\n")
        .args(["check", "recipe.yaml", "--devices", "devices.csv"])
        .stderr_contains("warning: auth.product_secret is written inline")
        .output_lacks(PS)
        .run();

    let auth = format!("auth:\n  mode: product-secret\n  product_key: {PK}\n  product_secret: {{ env: NOT_SET_ANYWHERE }}\n");
    with_files(Test::new())
        .file("recipe.yaml", recipe("gpt", 16, "16MiB", "32MiB", &auth))
        .args(["check", "recipe.yaml", "--devices", "devices.csv"])
        .env_remove("NOT_SET_ANYWHERE")
        .status(2)
        .stderr_contains("environment variable `NOT_SET_ANYWHERE` is not set")
        .run();
}

#[test]
fn two_devices_mapping_to_one_file_are_refused() {
    let r = good_recipe() + "output:\n  pattern: \"{device_name}.img\"\n";
    let csv = format!("DeviceName,DeviceSecret\ngw-0001,{DS1}\ngw-0001,{DS2}\n");
    with_files(Test::new())
        .file("recipe.yaml", r)
        .file("d.csv", csv)
        .args(["check", "recipe.yaml", "--devices", "d.csv"])
        .status(2)
        .stderr_contains("d.csv:3: DeviceName: `gw-0001` already appears on line 2")
        .run();
    let r = good_recipe() + "output:\n  pattern: \"../{device_name}.img\"\n";
    with_files(Test::new())
        .file("recipe.yaml", r)
        .args(["check", "recipe.yaml", "--devices", "devices.csv"])
        .status(2)
        .stderr_contains("output.pattern: must be a plain file name")
        .run();
}

#[test]
fn a_failed_device_does_not_stop_the_others() {
    let t = with_files(Test::new())
        .file("recipe.yaml", good_recipe())
        .file(
            "out/gw-0002.img/blocker",
            "a directory where the image should go",
        )
        .args([
            "build",
            "recipe.yaml",
            "--devices",
            "devices.csv",
            "--out",
            "out",
        ])
        .status(1)
        .stderr_contains("error: device gw-0002 (devices.csv:3): renaming into place")
        .stderr_contains("1 of 3 device(s) failed");
    t.run();
    let manifest = fs::read_to_string(t.path().join("out/manifest.json")).expect("manifest");
    assert!(
        manifest.contains("gw-0001") && !manifest.contains("\"gw-0002\""),
        "{manifest}"
    );
    assert!(t.path().join("out/gw-0001.img").is_file());
    let leftovers: Vec<_> = fs::read_dir(t.path().join("out"))
        .expect("out")
        .map(|e| e.expect("e").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".burnline-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn usage_errors_exit_2() {
    Test::new()
        .args(["build"])
        .status(2)
        .stderr_contains("Usage")
        .run();
    let o = Test::new().args(["frobnicate"]).status(2).run();
    assert!(!o.stderr.is_empty());
    Test::new()
        .args(["--help"])
        .stdout_contains("build")
        .stdout_contains("inspect")
        .run();
}

#[test]
fn a_credentials_slot_too_small_for_the_registered_record_is_refused() {
    // 一型一密 keeping the ProductSecret: once registered, a record holds
    // both secrets. The largest record of this recipe, by the format's page:
    let record = |endpoint: &str| {
        64 + format!(
            r#"{{"product_key":"{}","device_name":"{}","device_secret":"{}","product_secret":"{}","endpoint":"{endpoint}","keep_product_secret":true}}"#,
            "k".repeat(11),
            "n".repeat(32),
            "d".repeat(32),
            "p".repeat(32)
        )
        .len()
    };
    let base = "https://iot.example.com/";
    // An endpoint that makes the largest record 1025 bytes: one more than a
    // slot of a 2048-byte partition holds.
    let endpoint = format!("{base}{}", "p".repeat(1025 - record(base)));
    assert_eq!(record(&endpoint), 1025);
    let recipe = |size: u64| {
        format!(
            "disk:\n  size: 8MiB\n  table: gpt\n  seed: 0123456789abcdef0123456789abcdef\n\
             partitions:\n  - name: creds\n    size: {size}\n    credentials: {{ keep_product_secret: true }}\n\
             \x20 - name: data\n    size: fill\n\
             auth:\n  mode: product-secret\n  product_key: {PK}\n  product_secret: {{ env: TEST_PS }}\n  endpoint: {endpoint}\n"
        )
    };
    for cmd in ["check", "build"] {
        let mut args = vec![cmd, "recipe.yaml", "--devices", "devices.csv"];
        if cmd == "build" {
            args.extend(["--out", "out"]);
        }
        let t = Test::new()
            .file("recipe.yaml", recipe(2048))
            .file("devices.csv", "DeviceName\ngw-0001\n")
            .env("TEST_PS", PS)
            .args(args)
            .status(2)
            .stderr_lines(2)
            .error_line(
                "recipe.yaml:7:11: partitions[0].size: a device's credential record can need 1025 bytes per \
                 slot once registered (32-character DeviceName and secrets, the recipe's region and endpoint), so \
                 its two slots need at least 2050 bytes, but the partition has 2048",
            )
            .absent("out");
        let o = t.run();
        assert_eq!(errors(&o).len(), 1, "{cmd}: {}", o.stderr);
    }
    // Three sectors hold it.
    Test::new()
        .file("recipe.yaml", recipe(3072))
        .file("devices.csv", "DeviceName\ngw-0001\n")
        .env("TEST_PS", PS)
        .args(["check", "recipe.yaml", "--devices", "devices.csv"])
        .run();
}
