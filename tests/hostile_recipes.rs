//! Recipes a careless or hostile user writes (issue #11 items 9, 11 and
//! 16): sizes and offsets near `u64::MAX`, endpoints and regions no device
//! can use, FAT paths FAT refuses or that collide, sources that never end
//! or never open, too many GPT partitions, a NUL in a name, secret files
//! without bound. `check`, `plan` and `build` refuse each promptly with the
//! field's line and column (exit 2, no panic), and `build` writes nothing.
//! Also what reaches the output directory from elsewhere: shard manifests
//! and a resume journal naming files outside it (item 8), and `flash` given
//! one target under two names (item 13).

mod common;

use common::fixtures::fixture;
use common::images::{sha, LoopDevice};
use common::*;
use std::path::Path;
use std::time::Duration;

/// Time enough for any refusal here (they take milliseconds); a run still
/// going then hangs, and fails the test.
const PROMPT: Duration = Duration::from_secs(20);

/// Just under `u64::MAX`: 2^64 - 512.
const HUGE: &str = "18446744073709551104";

/// A recipe: an 8 MiB GPT disk (`disk` adds lines under `disk:`), the
/// partitions `parts` before a credentials and a fill partition, then
/// `blobs` (a `blobs:` section or nothing) and `auth` (lines under `auth:`
/// after a device-secret mode and its ProductKey).
fn recipe(disk: &str, parts: &str, blobs: &str, auth: &str) -> String {
    format!(
        "disk:\n  size: 8MiB\n  table: gpt\n  seed: 0123456789abcdef0123456789abcdef\n{disk}\
         partitions:\n{parts}  - name: creds\n    size: 1MiB\n    credentials: {{}}\n  - name: data\n    size: fill\n\
         {blobs}auth:\n  mode: device-secret\n  product_key: {PK}\n{auth}"
    )
}

/// Where `value` stands in `text`, right after `before` (which with it
/// occurs once): `r.yaml:LINE:COLUMN`, as burnline locates a field.
fn at(text: &str, before: &str, value: &str) -> String {
    let needle = format!("{before}{value}");
    let found: Vec<usize> = text.match_indices(&needle).map(|(i, _)| i).collect();
    let [start] = found[..] else {
        panic!("{needle:?} is not once in the recipe:\n{text}");
    };
    location(text, start + before.len())
}

/// `r.yaml:LINE:COLUMN` of the byte `offset` of `text` (ASCII).
fn location(text: &str, offset: usize) -> String {
    let line = text[..offset].matches('\n').count() + 1;
    let column = offset - text[..offset].rfind('\n').map_or(0, |i| i + 1) + 1;
    format!("r.yaml:{line}:{column}")
}

/// A test dir holding `text` as `r.yaml` and a one-device CSV `d.csv`.
fn with_recipe(text: &str) -> Test {
    Test::new()
        .file("r.yaml", text)
        .file("d.csv", format!("DeviceName,DeviceSecret\ngw-0001,{DS1}\n"))
}

/// `check`, `plan` and `build` of `t`'s `r.yaml` each end within
/// [`PROMPT`] with exit 2 and an error line holding `want`
/// (location, field and rule), without a panic; `build` writes nothing, not
/// even its output directory.
#[track_caller]
fn refused(t: &Test, want: &str) {
    for args in [
        &["check", "r.yaml", "--devices", "d.csv"][..],
        &["plan", "r.yaml"],
        &["build", "r.yaml", "--devices", "d.csv", "--out", "out"],
    ] {
        t.cmd()
            .args(args)
            .status(2)
            .error_line(want)
            .stderr_lacks("panicked")
            .absent("out")
            .run_within(PROMPT);
    }
}

/// Item 9: every size and offset near `u64::MAX` is a rule broken at its
/// own line and column, never a wrapped sum (a partition that ends before
/// it starts) nor a panic.
#[test]
fn sizes_and_offsets_near_u64_max_are_refused_at_their_field() {
    let over = " bytes is more than 1 PiB, the most burnline lays out";
    let cases = [
        (
            recipe("", &format!("  - name: big\n    size: {HUGE}\n"), "", ""),
            "    size: ",
            HUGE,
            format!("partitions[0].size: {HUGE}{over}"),
        ),
        (
            recipe(
                "",
                &format!("  - name: far\n    size: 1MiB\n    offset: {HUGE}\n"),
                "",
                "",
            ),
            "    offset: ",
            HUGE,
            format!("partitions[0].offset: {HUGE}{over}"),
        ),
        (
            // 2^64 - 2^30, written with a unit.
            recipe(
                "",
                "  - name: far\n    size: 1MiB\n    offset: 17179869183GiB\n",
                "",
                "",
            ),
            "    offset: ",
            "17179869183GiB",
            format!("partitions[0].offset: 18446744072635809792{over}"),
        ),
        (
            // 2^64: too large for the unit's arithmetic.
            recipe("", "  - name: big\n    size: 16777216TiB\n", "", ""),
            "    size: ",
            "16777216TiB",
            "partitions[0].size: `16777216TiB` is too large".to_owned(),
        ),
        (
            recipe(&format!("  alignment: {HUGE}\n"), "", "", ""),
            "  alignment: ",
            HUGE,
            format!("disk.alignment: {HUGE}{over}"),
        ),
        (
            recipe("", "", "", "").replace("  size: 8MiB\n", &format!("  size: {HUGE}\n")),
            "  size: ",
            HUGE,
            format!("disk.size: {HUGE}{over}"),
        ),
        (
            recipe(
                "",
                "",
                &format!("blobs:\n  - source: spl.bin\n    offset: {HUGE}\n"),
                "",
            ),
            "    offset: ",
            HUGE,
            format!("blobs[0].offset: {HUGE}{over}"),
        ),
    ];
    for (text, before, value, rule) in cases {
        let t = with_recipe(&text).file("spl.bin", [0xabu8; 512]);
        refused(&t, &format!("{}: {rule}", at(&text, before, value)));
    }
}

/// Item 11: an endpoint or region every device would fail on is refused;
/// a loopback http:// endpoint (the emulator's) and a real region pass.
#[test]
fn endpoints_and_regions_no_device_can_use_are_refused() {
    for (line, value, rule) in [
        (
            "  endpoint: ",
            "http://10.0.0.1:8080",
            "auth.endpoint: endpoint `http://10.0.0.1:8080`: plain http:// is allowed only for a loopback host",
        ),
        (
            "  endpoint: ",
            "https://",
            "auth.endpoint: endpoint `https://` is not a usable URL",
        ),
        (
            "  region: ",
            "cn/sh anghai",
            "auth.region: region `cn/sh anghai` is not a region name",
        ),
    ] {
        let text = recipe("", "", "", &format!("{line}{value}\n"));
        refused(
            &with_recipe(&text),
            &format!("{}: {rule}", at(&text, line, value)),
        );
    }
    for auth in [
        "  endpoint: http://127.0.0.1:8080\n",
        "  region: cn-shanghai\n",
    ] {
        with_recipe(&recipe("", "", "", auth))
            .args(["check", "r.yaml", "--devices", "d.csv"])
            .run_within(PROMPT);
    }
}

/// One FAT partition (`boot`, partitions[0]) holding `files` (lines of its
/// `files:` list).
fn fat_recipe(files: &str) -> String {
    recipe(
        "",
        &format!("  - name: boot\n    size: 2MiB\n    fat:\n      files:\n{files}"),
        "",
        "",
    )
}

/// Item 11: a `dest` FAT cannot hold (empty for a file, a 300-character
/// name, a character FAT refuses) is refused at that `dest`.
#[test]
fn fat_paths_fat_refuses_are_refused_at_their_dest() {
    let long = "n".repeat(300);
    let mut cases = vec![
        ("''".to_owned(), "names no file".to_owned()),
        (
            format!("/{long}"),
            format!("`{long}`: a FAT name holds at most 255 characters"),
        ),
        (
            r"'/a\b'".to_owned(),
            r"must be a plain path inside the volume (no `.`, `..` or `\`)".to_owned(),
        ),
    ];
    for c in ['?', '*', ':', '<', '>', '|', '"'] {
        cases.push((
            format!("'/a{c}b'"),
            format!("`a{}b`: FAT names cannot hold {c:?}", c.escape_debug()),
        ));
    }
    for (dest, rule) in cases {
        let text = fat_recipe(&format!(
            "        - source: a.txt\n          dest: {dest}\n"
        ));
        refused(
            &with_recipe(&text).file("a.txt", "a\n"),
            &format!(
                "{}: partitions[0].fat.files[0].dest: {rule}",
                at(&text, "dest: ", &dest)
            ),
        );
    }
}

/// Item 11: two sources that would be one FAT entry (one would silently
/// replace the other) are refused at the second one's `dest`: the same
/// path, a case-only difference, and a file of a copied directory against
/// a file given on its own. A long name next to a file named like its first
/// short alias is two entries: the volume writer gives the long name the
/// next alias (`LONGFI~2.TXT`), so both are kept, and both pass.
#[test]
fn two_files_for_one_fat_entry_are_refused() {
    for (first, second, source, rule) in [
        ("/x.txt", "/x.txt", "b.txt", "`x.txt` is given twice"),
        (
            "/readme.txt",
            "/README.TXT",
            "b.txt",
            "`README.TXT` and `readme.txt` would be one FAT entry",
        ),
        (
            "/sub/Notes.txt",
            "/",
            "tree",
            "`sub/NOTES.TXT` and `sub/Notes.txt` would be one FAT entry",
        ),
    ] {
        let text = fat_recipe(&format!(
            "        - source: a.txt\n          dest: {first}\n        - source: {source}\n          dest: {second}\n"
        ));
        let t = with_recipe(&text)
            .file("a.txt", "a\n")
            .file("b.txt", "b\n")
            .file("tree/sub/NOTES.TXT", "c\n");
        // The second `dest`: the last one in the recipe.
        let second_dest = text.rfind(&format!("dest: {second}\n")).expect("dest") + 6;
        refused(
            &t,
            &format!(
                "{}: partitions[0].fat.files[1].dest: {rule}",
                location(&text, second_dest)
            ),
        );
    }
    let t = with_recipe(&fat_recipe(
        "        - source: a.txt\n          dest: /longfilename.txt\n        - source: b.txt\n          dest: /LONGFI~1.TXT\n",
    ))
    .file("a.txt", "a\n")
    .file("b.txt", "b\n");
    t.cmd()
        .args(["check", "r.yaml", "--devices", "d.csv"])
        .run_within(PROMPT);
    t.cmd()
        .args(["build", "r.yaml", "--devices", "d.csv", "--out", "out"])
        .run_within(PROMPT);
    // Two files in one directory, or one name in two directories, are fine.
    with_recipe(&fat_recipe(
        "        - source: a.txt\n          dest: /d/x.txt\n        - source: b.txt\n          dest: /d/y.txt\n        - source: a.txt\n          dest: /e/x.txt\n",
    ))
    .file("a.txt", "a\n")
    .file("b.txt", "b\n")
    .args(["check", "r.yaml", "--devices", "d.csv"])
    .run_within(PROMPT);
}

/// Item 11: `/dev/zero` (never ends) and a FIFO (never opens without a
/// writer) as a FAT source, as an `image:` and as a blob are refused at
/// once, at their field.
#[test]
fn sources_that_are_not_regular_files_are_refused_promptly() {
    for source in ["/dev/zero", "fifo"] {
        let cases = [
            (
                fat_recipe(&format!("        - source: {source}\n          dest: /z\n")),
                "source: ",
                format!(
                    "partitions[0].fat.files[0].source: `{source}` is neither a regular file nor a directory"
                ),
            ),
            (
                recipe(
                    "",
                    &format!("  - name: raw\n    size: 1MiB\n    image: {source}\n"),
                    "",
                    "",
                ),
                "image: ",
                "partitions[0].image: ".to_owned(),
            ),
            (
                recipe(
                    "",
                    "",
                    &format!("blobs:\n  - source: {source}\n    offset: 8KiB\n"),
                    "",
                ),
                "source: ",
                format!("blobs[0].source: `{source}` is not a file"),
            ),
        ];
        for (text, before, rule) in cases {
            let t = with_recipe(&text);
            t.tool("mkfifo").arg("fifo").run();
            let located = format!("{}: {rule}", at(&text, before, source));
            refused(&t, &located);
        }
    }
}

/// Item 11: a GPT holds 128 partitions; 130 are refused at `partitions`.
#[test]
fn more_partitions_than_a_gpt_holds_are_refused() {
    let parts: String = (0..128)
        .map(|i| format!("  - name: p{i}\n    size: 4KiB\n"))
        .collect();
    let text = recipe("  alignment: 4KiB\n", &parts, "", "");
    refused(
        &with_recipe(&text),
        &format!(
            "{}: partitions: a GPT holds at most 128 partitions, the recipe has 130",
            at(&text, "", "partitions:")
        ),
    );
}

/// Item 11: a NUL ends a name for most readers (`cr\0eds` reads as
/// `creds`): control characters in a partition name are refused.
#[test]
fn a_control_character_in_a_partition_name_is_refused() {
    for name in [r#""cr\0eds""#, r#""a\tb""#] {
        let text = recipe("", &format!("  - name: {name}\n    size: 1MiB\n"), "", "");
        refused(
            &with_recipe(&text),
            &format!(
                "{}: partitions[0].name: must not hold control characters",
                at(&text, "name: ", name)
            ),
        );
    }
}

/// A product-secret recipe whose ProductSecret is `{file: SECRET}`.
fn secret_file_recipe(secret: &str) -> String {
    recipe("", "", "", "")
        .replace("device-secret", "product-secret")
        .replace(
            &format!("  product_key: {PK}\n"),
            &format!("  product_key: {PK}\n  product_secret: {{file: {secret}}}\n"),
        )
}

/// Item 16: a secret file is read with a bound: `/dev/zero` and a FIFO are
/// refused at once, a regular file of more than a few KiB too; none of its
/// bytes is quoted.
#[test]
fn a_secret_file_is_read_with_a_bound() {
    let big = "K".repeat(1 << 20);
    for (secret, rule) in [
        ("/dev/zero", "cannot read `/dev/zero`"),
        ("fifo", "cannot read `fifo`"),
        ("big.txt", "`big.txt` holds more than 4096 bytes"),
    ] {
        let text = secret_file_recipe(secret);
        let t = with_recipe(&text)
            .file("d.csv", "DeviceName\ngw-0001\n")
            .file("big.txt", &big);
        t.tool("mkfifo").arg("fifo").run();
        let want = format!(
            "{}: auth.product_secret: {rule}",
            at(&text, "  ", "product_secret:")
        );
        for args in [
            &["check", "r.yaml", "--devices", "d.csv"][..],
            &["build", "r.yaml", "--devices", "d.csv", "--out", "out"],
        ] {
            t.cmd()
                .args(args)
                .status(2)
                .error_line(&want)
                .absent("out")
                .run_within(PROMPT);
        }
        // `plan` never reads the ProductSecret (issue 22, item 24).
        t.cmd().args(["plan", "r.yaml"]).run_within(PROMPT);
        t.cmd()
            .args(["check", "r.yaml", "--devices", "d.csv"])
            .status(2)
            .output_lacks("KKKKKKKK")
            .run_within(PROMPT);
    }
}

/// Item 16: `--jobs 100000` is clamped (and says so), and the build is
/// whole.
#[test]
fn jobs_beyond_the_maximum_are_clamped_and_said() {
    let t = Test::new();
    let (r, c) = fixture(t.path(), 3, "");
    t.cmd()
        .args(["build", s(&r), "--devices", s(&c), "--out", "out"])
        .args(["--jobs", "100000"])
        .stderr_contains("--jobs 100000 is more than 256; using 256")
        .run_within(Duration::from_secs(120));
    t.cmd()
        .args(["verify", "out"])
        .stdout_contains("ok: 3 file(s)")
        .run();
}

/// Item 16: `--out` naming a regular file is a usage error (exit 2), and
/// the file is left as it was.
#[test]
fn out_naming_a_regular_file_is_a_usage_error() {
    let t = Test::new().file("afile", "kept\n");
    let (r, c) = fixture(t.path(), 1, "");
    t.cmd()
        .args(["build", s(&r), "--devices", s(&c), "--out", "afile"])
        .status(2)
        .stderr_lines(1)
        .stderr_contains("--out afile: is not a directory")
        .run();
    assert_eq!(
        std::fs::read_to_string(t.path().join("afile")).expect("afile"),
        "kept\n"
    );
}

/// Two shards (with bmaps) of a 4-device fixture in `t`'s `s1` and `s2`.
fn two_shards(t: &Test) {
    let (r, c) = fixture(t.path(), 4, "");
    for k in 1..=2 {
        t.cmd()
            .args(["build", s(&r), "--devices", s(&c), "--bmap"])
            .args(["--out", &format!("s{k}"), "--shard", &format!("{k}/2")])
            .run();
    }
}

/// Sets the JSON field at `pointer` of `dir/manifest.json` to `value`.
fn tamper(dir: &Path, pointer: &str, value: &str) {
    let path = dir.join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("manifest")).expect("json");
    *m.pointer_mut(pointer).expect("field") = value.into();
    std::fs::write(&path, serde_json::to_vec(&m).expect("json")).expect("write");
}

/// Item 8: a shard manifest naming a file outside its directory (`..`, or
/// an absolute path), as a device's file or its bmap, is refused by
/// `manifest merge` (exit 2, the manifest and the field named) and by
/// `verify`; the file it names is never touched, and nothing is merged.
#[test]
fn a_manifest_naming_a_file_outside_its_directory_is_refused() {
    let t = Test::new();
    two_shards(&t);
    let d = t.path();
    let victim = d.join("victim.txt");
    for (pointer, field, name) in [
        (
            "/devices/0/file",
            "devices[0].file",
            "../../victim.txt".to_owned(),
        ),
        ("/devices/1/file", "devices[1].file", s(&victim).to_owned()),
        (
            "/devices/0/extra_files/0/file",
            "devices[0].extra_files[0].file",
            "../../victim.txt".to_owned(),
        ),
    ] {
        std::fs::write(&victim, "precious\n").expect("victim");
        let shard = d.join("shard");
        let _ = std::fs::remove_dir_all(&shard);
        t.tool("cp").args(["-a", "s1", "shard"]).run();
        tamper(&shard, pointer, &name);
        // a/merged/../../victim.txt is the victim.
        t.cmd()
            .args(["manifest", "merge", "shard", "s2", "--out", "a/merged"])
            .status(2)
            .error_line(format!("shard/manifest.json: {field}: "))
            .stderr_contains("is not a plain file name inside the directory")
            .absent("a/merged/manifest.json")
            .run();
        t.cmd()
            .args(["verify", "shard"])
            .status(2)
            .error_line(format!("shard/manifest.json: {field}: "))
            .run();
        assert_eq!(
            std::fs::read_to_string(&victim).expect("the victim is still there"),
            "precious\n",
            "{pointer}"
        );
    }
    // The untouched shards still merge.
    t.cmd()
        .args(["manifest", "merge", "s1", "s2", "--out", "merged"])
        .run();
    t.tool("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(d.join("merged"))
        .run();
}

/// Links every line of a chained log to the SHA-256 of the line before it
/// again, as someone editing the log with care would.
fn rechain(text: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut out = String::new();
    let mut prev = String::new();
    for (i, line) in text.lines().enumerate() {
        let rest = line
            .strip_prefix("{\"prev\":\"")
            .and_then(|r| r.get(64..))
            .expect("a chained line");
        let link = if i == 0 {
            "0".repeat(64)
        } else {
            hex::encode(Sha256::digest(prev.as_bytes()))
        };
        let mended = format!("{{\"prev\":\"{link}{rest}");
        out.push_str(&mended);
        out.push('\n');
        prev = mended;
    }
    out
}

/// Item 8, the journal: a resume journal entry naming a file outside the
/// output directory (one that is there, of the right size) stops the rerun
/// at that line instead of listing the outside file in the manifest.
#[test]
fn a_journal_naming_a_file_outside_the_output_directory_is_refused() {
    let t = Test::new();
    let (r, c) = fixture(t.path(), 2, "");
    let build = t
        .cmd()
        .args(["build", s(&r), "--devices", s(&c), "--out", "out"]);
    build
        .clone()
        .env("FAILPOINTS", "build-after-journal=return")
        .signal(6)
        .absent("out/manifest.json")
        .run();
    let journal = t.path().join("out/.manifest.partial.jsonl");
    let good = std::fs::read_to_string(&journal).expect("journal");
    assert_eq!(good.lines().count(), 3, "{good}");
    std::fs::copy(
        t.path().join("out/gw-0001.img"),
        t.path().join("victim.img"),
    )
    .expect("copy");
    let before = sha(&t.path().join("victim.img"));
    // The attacker also mends the hash chain (burnline-io/src/chain.rs), so the line
    // is read and its file name is what refuses it.
    let bad = rechain(&good.replacen("\"file\":\"gw-0001.img\"", "\"file\":\"../victim.img\"", 1));
    assert_ne!(bad, good);
    std::fs::write(&journal, &bad).expect("damage");
    build
        .clone()
        .status(2)
        .error_line(
            "out/.manifest.partial.jsonl:2: file: `../victim.img` is not a plain file name inside the directory",
        )
        .absent("out/manifest.json")
        .run();
    assert_eq!(sha(&t.path().join("victim.img")), before);
    assert_eq!(std::fs::read_to_string(&journal).expect("journal"), bad);
    std::fs::write(&journal, &good).expect("restore");
    build.run();
}

/// Item 13: two targets that are one file are refused before anything is
/// written: one path written two ways (for a file yet to be made, and for
/// one that is there), a hard link and a symlink.
#[test]
fn one_file_given_as_two_targets_is_refused_before_writing() {
    let t = Test::new();
    let (r, c) = fixture(t.path(), 1, "");
    t.cmd()
        .args(["build", s(&r), "--devices", s(&c), "--out", "out"])
        .run();
    let flash = t.cmd().args(["flash", "out/gw-0001.img"]);
    let twice = |a: &str, b: &str| {
        flash
            .clone()
            .args(["--target", a, "--target", b])
            .status(2)
            .stderr_lines(1)
            .stderr_contains(format!("target {b} is given twice"))
    };
    std::fs::create_dir(t.path().join("new")).expect("mkdir");
    twice("same.img", "./same.img").absent("same.img").run();
    twice("new/../same.img", "same.img")
        .absent("same.img")
        .run();
    std::fs::write(t.path().join("same.img"), vec![0x5a; 8 << 20]).expect("old card");
    std::fs::hard_link(t.path().join("same.img"), t.path().join("link.img")).expect("link");
    std::os::unix::fs::symlink("same.img", t.path().join("symlink.img")).expect("symlink");
    for (a, b) in [
        ("same.img", "./same.img"),
        ("same.img", "link.img"),
        ("new/../link.img", "same.img"),
        ("symlink.img", "same.img"),
    ] {
        twice(a, b).run();
    }
    assert!(
        std::fs::read(t.path().join("same.img"))
            .expect("card")
            .iter()
            .all(|b| *b == 0x5a),
        "nothing was written"
    );
    // Two distinct files are two targets.
    flash
        .args(["--target", "same.img", "--target", "other.img"])
        .run();
    assert_eq!(
        sha(&t.path().join("same.img")),
        sha(&t.path().join("other.img"))
    );
}

/// Item 13, block devices: a second device node of one loop device is the
/// same target (compared by `st_rdev`). Needs root, as the suite does.
#[test]
fn one_block_device_under_two_nodes_is_refused_before_writing() {
    use std::os::unix::fs::MetadataExt;
    let t = Test::new();
    let (r, c) = fixture(t.path(), 1, "");
    t.cmd()
        .args(["build", s(&r), "--devices", s(&c), "--out", "out"])
        .run();
    let card = t.path().join("card");
    std::fs::write(&card, vec![0x5a; 8 << 20]).expect("card");
    let dev = LoopDevice::attach(&t, &card, &[]);
    let rdev = std::fs::metadata(dev.path()).expect("loop device").rdev();
    let (major, minor) = (rustix::fs::major(rdev), rustix::fs::minor(rdev));
    t.tool("mknod")
        .args(["alias", "b", &major.to_string(), &minor.to_string()])
        .run();
    t.cmd()
        .args([
            "flash",
            "out/gw-0001.img",
            "--target",
            dev.path(),
            "--target",
            "alias",
        ])
        .status(2)
        .stderr_lines(1)
        .stderr_contains("target alias is given twice")
        .run();
    drop(dev);
    assert!(
        std::fs::read(&card)
            .expect("card")
            .iter()
            .all(|b| *b == 0x5a),
        "nothing was written"
    );
}
