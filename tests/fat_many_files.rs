//! A FAT volume of many files: 20,000 small files in 20 subdirectories,
//! named four ways (8.3 names in lower case, long names with spaces, names
//! whose short aliases run out of `~1`–`~4` and take the checksum form, and
//! non-ASCII names), some empty. Built once and checked with the field's
//! tools: `fsck.fat -n` has nothing to say, `mdir -/ -b` lists every path
//! (so every long name is kept), and `mcopy` brings a sample of the files
//! back byte for byte. fatfs's own file creation made this quadratic
//! (10,000 files took 203 s); nothing here is timed.
//!
//! The fixed root directory of FAT12/16: files that do not fit it are
//! refused by `check`, naming the field, instead of failing mid-build.

mod common;

use common::images::*;
use common::*;
use std::collections::BTreeSet;
use std::fs;

const DIRS: usize = 20;
const PER_DIR: usize = 1000;

fn name(d: usize, i: usize) -> String {
    match d % 4 {
        0 => format!("f{i:04}.bin"),
        1 => format!("File number {i:04} of directory {d:02}.txt"),
        2 => format!("longfilename{i:04}.txt"),
        _ => format!("Ünïcödé-{i:04}-名前.dat"),
    }
}

fn dir_name(d: usize) -> String {
    format!("Directory {d:02}")
}

fn body(d: usize, i: usize) -> String {
    format!("{d}/{i}\n").repeat(i % 7)
}

#[test]
fn twenty_thousand_files_pass_fsck_and_mtools() {
    let t = Test::new().file(
        "recipe.yaml",
        concat!(
            "disk:\n  size: 80MiB\n  table: gpt\n  seed: 0123456789abcdef0123456789abcdef\n",
            "partitions:\n",
            "  - name: boot\n    size: 64MiB\n    type: basic-data\n",
            "    fat:\n      type: 32\n      label: MANY\n      files:\n",
            "        - source: many\n          dest: /data\n",
            "  - name: creds\n    size: 1MiB\n    type: linux\n    credentials: {}\n",
            "auth:\n  mode: device-secret\n  product_key: a1X2bEnP82z\n",
        ),
    );
    let t = t.file("devices.csv", fixtures::devices_csv());
    let mut want = BTreeSet::from(["::/data/".to_owned()]);
    for d in 0..DIRS {
        let dir = t.path().join("many").join(dir_name(d));
        fs::create_dir_all(&dir).expect("mkdir");
        want.insert(format!("::/data/{}/", dir_name(d)));
        for i in 0..PER_DIR {
            fs::write(dir.join(name(d, i)), body(d, i)).expect("write");
            want.insert(format!("::/data/{}/{}", dir_name(d), name(d, i)));
        }
    }
    t.cmd()
        .args([
            "build",
            "recipe.yaml",
            "--devices",
            "devices.csv",
            "--out",
            "out",
        ])
        .run();
    let vol = extract(
        &t.path().join("out/gw-0001.img"),
        1 << 20,
        64 << 20,
        &t.path().join("boot.vfat"),
    );
    assert_fsck_clean(&t, &vol);
    // mtools prints names in the locale's character set.
    let mtool = |name: &str| t.tool(name).env("LC_ALL", "C.UTF-8");
    let listed = mtool("mdir")
        .args(["-/", "-b", "-i", s(&vol), "::/"])
        .run()
        .stdout;
    let got: BTreeSet<String> = listed.lines().map(str::to_owned).collect();
    assert_eq!(got.len(), DIRS * PER_DIR + DIRS + 1, "mdir -/ -b count");
    let missing: Vec<_> = want.difference(&got).take(5).collect();
    let extra: Vec<_> = got.difference(&want).take(5).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, not asked for {extra:?}"
    );
    // One directory of each kind of name comes back whole.
    let back = t.path().join("back");
    fs::create_dir(&back).expect("mkdir");
    for d in 0..4 {
        let from = format!("::/data/{}", dir_name(d));
        mtool("mcopy")
            .args(["-s", "-n", "-i", s(&vol), &from, s(&back)])
            .run();
        let dir = back.join(dir_name(d));
        assert_eq!(fs::read_dir(&dir).expect("back").count(), PER_DIR);
        for i in 0..PER_DIR {
            let got = fs::read(dir.join(name(d, i))).expect("a file mcopy brought back");
            assert!(
                got == body(d, i).as_bytes(),
                "{}: contents differ",
                name(d, i)
            );
        }
    }
    // And a sample from the others, by name.
    for (d, i) in [(7, 999), (13, 500), (19, 1), (18, 6)] {
        let path = format!("::/data/{}/{}", dir_name(d), name(d, i));
        mtool("mtype")
            .args(["-i", s(&vol), &path])
            .stdout(body(d, i))
            .run();
    }
}

#[test]
fn files_beyond_the_fixed_root_are_refused_by_check() {
    let t = Test::new()
        .file(
            "recipe.yaml",
            concat!(
                "disk:\n  size: 32MiB\n  table: gpt\n  seed: 0123456789abcdef0123456789abcdef\n",
                "partitions:\n",
                "  - name: boot\n    size: 16MiB\n    type: basic-data\n",
                "    fat:\n      type: 16\n      files:\n",
                "        - source: files\n          dest: /\n",
                "  - name: creds\n    size: 1MiB\n    type: linux\n    credentials: {}\n",
                "auth:\n  mode: device-secret\n  product_key: a1X2bEnP82z\n",
            ),
        )
        .file("devices.csv", fixtures::devices_csv());
    let files = t.path().join("files");
    fs::create_dir(&files).expect("mkdir");
    // 511 short names fill the root with the label; one more does not fit.
    for i in 0..512 {
        fs::write(files.join(format!("f{i:04}")), b"x").expect("write");
    }
    let refused = "recipe.yaml:11:7: partitions[0].fat.files: the root directory of a FAT16 volume holds 512 entries, and these files need 513 there";
    t.cmd()
        .args(["check", "recipe.yaml", "--devices", "devices.csv"])
        .status(2)
        .error_line(refused)
        .run();
    t.cmd()
        .args([
            "build",
            "recipe.yaml",
            "--devices",
            "devices.csv",
            "--out",
            "out",
        ])
        .status(2)
        .error_line(refused)
        .run();
    fs::remove_file(files.join("f0000")).expect("remove");
    t.cmd()
        .args([
            "build",
            "recipe.yaml",
            "--devices",
            "devices.csv",
            "--out",
            "out",
        ])
        .run();
    let vol = extract(
        &t.path().join("out/gw-0001.img"),
        1 << 20,
        16 << 20,
        &t.path().join("boot.vfat"),
    );
    assert_fsck_clean(&t, &vol);
    t.tool("mdir")
        .args(["-b", "-i", s(&vol), "::/"])
        .stdout_count("::/f", 511)
        .run();
}
