//! Input that is too big, in the wrong place, or read by a reader that goes
//! away (issue 22, items 13, 17, 23 and four of 24): a device CSV row is
//! refused at its line once it passes 64 KiB, plain or age-encrypted, with
//! the memory of the run bounded (measured by `/usr/bin/time`); no parser's
//! message quotes the file it refuses (the device CSV given as the recipe
//! or the station config, a secret as a key, a manifest holding a secret);
//! a closed stderr or stdout ends `build` as an interruption does, with no
//! panic and no temp file, and the rerun says what it found done; `plan`
//! never asks for the ProductSecret; a credentials partition over 1 PiB
//! gets one line; two names the kernel reads alike are refused.

mod common;

use common::fixtures::fixture;
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The most memory (max RSS, KiB) a `check` refusing a huge row may take.
/// A run over a 160 MiB field took more than 300 MiB before rows were
/// bounded; a check of a small CSV takes about 20 MiB.
const RSS_LIMIT_KIB: u64 = 64 << 10;

/// `burnline ARGS` under `/usr/bin/time`: its outcome (exit 2 expected),
/// and its max RSS in KiB.
fn max_rss(t: &Test, args: &[&str]) -> (Outcome, u64) {
    let o = t
        .tool("/usr/bin/time")
        .args(["-f", "max-rss-kib %M"])
        .arg(burnline_bin())
        .args(args)
        .status(2)
        .run();
    let kib = o
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("max-rss-kib "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no max RSS from /usr/bin/time:\n{}", o.stderr));
    (o, kib)
}

/// A device CSV whose third line holds a field of `len` bytes.
fn csv_with_field(path: &Path, len: usize) {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("csv"));
    write!(
        f,
        "DeviceName,DeviceSecret,ProductKey\ngw-0001,{DS1},{PK}\ngw-0002,"
    )
    .expect("write");
    let chunk = vec![b'A'; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = left.min(chunk.len());
        f.write_all(&chunk[..n]).expect("write");
        left -= n;
    }
    write!(f, ",{PK}\ngw-0003,{DS2},{PK}\n").expect("write");
    f.flush().expect("flush");
}

/// An X25519 identity made by `age-keygen` (mode 0600), and its recipient.
fn identity(t: &Test, name: &str) -> (PathBuf, String) {
    let path = t.path().join(name);
    t.tool("age-keygen").args(["-o", s(&path)]).run();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let text = std::fs::read_to_string(&path).expect("identity");
    let recipient = text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .expect("public key line")
        .to_owned();
    (path, recipient)
}

/// Item 13: a 160 MiB field, plain or age-encrypted, is refused at its
/// line, and the run never holds it: its memory stays under 64 MiB.
#[test]
fn a_huge_field_is_refused_at_its_line_in_bounded_memory() {
    let t = Test::new();
    let d = t.path();
    let (r, _) = fixture(d, 1, "");
    let plain = d.join("huge.csv");
    csv_with_field(&plain, 160 << 20);
    let rule = "/huge.csv:3: the row is longer than 65536 bytes";
    let (o, kib) = max_rss(&t, &["check", s(&r), "--devices", s(&plain)]);
    assert!(o.stderr.contains(rule), "{}", o.stderr);
    assert!(kib < RSS_LIMIT_KIB, "plain: max RSS {kib} KiB");

    let (id, recipient) = identity(&t, "station.key");
    let enc = d.join("huge.csv.age");
    t.tool("age")
        .args(["-e", "-r", &recipient, "-o", s(&enc), s(&plain)])
        .run();
    std::fs::remove_file(&plain).expect("rm plain");
    let (o, kib) = max_rss(
        &t,
        &["check", s(&r), "--devices", s(&enc), "--identity", s(&id)],
    );
    assert!(
        o.stderr
            .contains("/huge.csv.age:3: the row is longer than 65536 bytes"),
        "{}",
        o.stderr
    );
    assert!(kib < RSS_LIMIT_KIB, "age: max RSS {kib} KiB");
    // build refuses it the same way, before anything is written.
    t.cmd()
        .args(["build", s(&r), "--devices", s(&enc), "--identity", s(&id)])
        .args(["--out", "out"])
        .status(2)
        .error_line("huge.csv.age:3: the row is longer than 65536 bytes")
        .absent("out")
        .run();
}

/// Item 13: the bound is on the row, not the physical line: a quoted field
/// of many short lines, a row of many empty fields and a huge header row
/// are refused at the line their row starts on.
#[test]
fn a_row_is_bounded_whatever_its_shape() {
    let t = Test::new();
    let d = t.path();
    let (r, _) = fixture(d, 1, "");
    let head = "DeviceName,DeviceSecret,ProductKey\n";
    let good = format!("gw-0001,{DS1},{PK}\n");
    let shapes = [
        (
            "quoted.csv",
            format!("{head}{good}gw-0002,\"{}\",{PK}\n", "ab\n".repeat(1 << 20)),
            "quoted.csv:3: the row is longer",
        ),
        (
            "fields.csv",
            format!("{head}{good}{good}gw-0003{}\n", ",".repeat(1 << 20)),
            "fields.csv:4: the row is longer",
        ),
        (
            "header.csv",
            format!("DeviceName,{}\n{good}", "x".repeat(1 << 20)),
            "header.csv:1: the row is longer",
        ),
    ];
    for (name, text, rule) in shapes {
        let p = d.join(name);
        std::fs::write(&p, text).expect("csv");
        t.cmd()
            .args(["check", s(&r), "--devices", s(&p)])
            .status(2)
            .error_line(rule)
            .run();
    }
    // A row just under the bound is read (an unknown column is ignored).
    let p = d.join("wide.csv");
    let wide = "w".repeat(60 << 10);
    std::fs::write(
        &p,
        format!("DeviceName,DeviceSecret,ProductKey,Note\ngw-0001,{DS1},{PK},{wide}\n"),
    )
    .expect("csv");
    t.cmd()
        .args(["check", s(&r), "--devices", s(&p)])
        .stdout_contains("1 device(s) in")
        .run();
}

/// Item 17: the device CSV given where the recipe or the station config
/// belongs, a secret written as a recipe key, a manifest holding a secret:
/// each parser refuses it in one line (exit 2) naming the file and the
/// position, and no line quotes the input.
#[test]
fn no_parser_message_quotes_its_input() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 2, "");
    let csv =
        format!("DeviceName,DeviceSecret,ProductKey\ngw-0001,{DS1},{PK}\ngw-0002,{DS2},{PK}\n");
    std::fs::write(&c, &csv).expect("csv");
    // The CSV as the recipe.
    t.cmd()
        .args(["check", s(&c), "--devices", s(&c)])
        .status(2)
        .error_line("devices.csv:1:1: not a valid recipe: invalid type: string, expected struct")
        .output_lacks(DS1)
        .output_lacks(DS2)
        .output_lacks("gw-0001")
        .run();
    t.cmd()
        .args(["plan", s(&c)])
        .status(2)
        .output_lacks(DS1)
        .run();
    // The CSV as the station config.
    t.cmd()
        .args(["station", "serve", "--config", s(&c)])
        .status(2)
        .error_line("devices.csv:1:1: not a valid station config: invalid type: string")
        .output_lacks(DS1)
        .output_lacks(DS2)
        .run();
    // A secret as a key, and as a value of the wrong type.
    let text = std::fs::read_to_string(&r).expect("recipe");
    for (name, bad) in [
        (
            "key.yaml",
            text.replace("auth: {", &format!("auth: {{{DS1}: x, ")),
        ),
        (
            "value.yaml",
            text.replace("table: gpt", &format!("table: [{DS1}]")),
        ),
    ] {
        std::fs::write(d.join(name), bad).expect("recipe");
        let o = t
            .cmd()
            .args(["check", name, "--devices", s(&c)])
            .status(2)
            .output_lacks(DS1)
            .run();
        assert!(
            o.stderr
                .lines()
                .any(|l| l.starts_with(&format!("error: {name}:"))
                    && (l.contains("unknown field, expected one of `mode`")
                        || l.contains("disk.table: invalid type: sequence, expected a string"))),
            "{}",
            o.stderr
        );
    }
    // A value shaped like a secret in a field that takes a word: named by
    // its field, not shown.
    for (name, bad, rule) in [
        (
            "table.yaml",
            text.replace("table: gpt", &format!("table: {DS1}")),
            "disk.table: must be `gpt` or `mbr`, found (a value shaped like a secret, not shown)",
        ),
        (
            "size.yaml",
            text.replace("size: 8MiB", &format!("size: 8{DS1}")),
            "disk.size: unknown unit (a value shaped like a secret, not shown)",
        ),
        (
            "type.yaml",
            text.replace("type: esp", &format!("type: {DS1}")),
            "partitions[0].type: (a value shaped like a secret, not shown) is neither",
        ),
    ] {
        std::fs::write(d.join(name), bad).expect("recipe");
        t.cmd()
            .args(["check", name, "--devices", s(&c)])
            .status(2)
            .error_line(rule)
            .output_lacks(DS1)
            .run();
    }
    // A manifest holding a secret where a field belongs.
    t.cmd()
        .args(["build", s(&r), "--devices", s(&c), "--out", "out"])
        .run();
    let m = d.join("out/manifest.json");
    std::fs::write(&m, format!("\"{DS1}\"")).expect("manifest");
    t.cmd()
        .args(["verify", "out"])
        .status(2)
        .error_line("manifest.json: not a burnline manifest: invalid type: string")
        .output_lacks(DS1)
        .run();
    // A device CSV that is not UTF-8 next to a secret.
    let mut bytes = csv.into_bytes();
    bytes.extend_from_slice(format!("gw-0003,{DS1}").as_bytes());
    bytes.extend_from_slice(b"\xff\xfe,a1X2bEnP82z\n");
    std::fs::write(&c, bytes).expect("csv");
    t.cmd()
        .args(["check", s(&r), "--devices", s(&c)])
        .status(2)
        .error_line("devices.csv:4: bytes that are neither UTF-8 nor GB18030")
        .output_lacks(DS1)
        .run();
}

/// `burnline ARGS` in `dir` with stderr a pipe whose reader goes away after
/// the first line (or stdout one whose reader is already gone); the exit
/// code, and what the other stream got.
fn with_closed(
    dir: &Path,
    args: &[&str],
    close_stderr: bool,
    env: &[(&str, &str)],
) -> (i32, String) {
    let mut cmd = Command::new(burnline_bin());
    cmd.args(args)
        .current_dir(dir)
        .env_remove("SOURCE_DATE_EPOCH")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run burnline");
    let mut other = if close_stderr {
        // `| head -1`: the first line is read, then the reader goes away.
        if let Some(e) = child.stderr.take() {
            let mut first = String::new();
            std::io::BufRead::read_line(&mut std::io::BufReader::new(e), &mut first)
                .expect("read the first line");
        }
        child
            .stdout
            .take()
            .map(|o| Box::new(o) as Box<dyn std::io::Read + Send>)
    } else {
        drop(child.stdout.take());
        child
            .stderr
            .take()
            .map(|o| Box::new(o) as Box<dyn std::io::Read + Send>)
    }
    .expect("the other pipe");
    let mut text = String::new();
    std::io::Read::read_to_string(&mut other, &mut text).expect("read");
    let status = child.wait().expect("wait");
    (status.code().unwrap_or(-1), text)
}

/// Names in `dir` that a finished or stopped run must not leave: temp files.
fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("ls")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".burnline-tmp"))
        .collect()
}

/// Item 23: `build … 2>&1 | head -1`: the reader of stderr goes away.
/// The run ends as an interruption does (exit 130, the batch in flight
/// journaled, no temp file, no panic); the rerun says how many images it
/// found done and how many it built, and they add up.
#[test]
fn a_closed_stderr_stops_build_as_an_interruption_and_the_rerun_counts_both() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 200, "");
    // Each batch waits a while after its renames, so the run is still going
    // when its first progress line after the start line finds stderr closed.
    let slow = [("FAILPOINTS", "build-after-rename=sleep(2100)")];
    let args = ["build", s(&r), "--devices", s(&c), "--out", "out"];
    let (code, stdout) = with_closed(d, &args, true, &slow);
    assert_eq!(code, 130, "stdout: {stdout}");
    let out = d.join("out");
    assert_eq!(temp_files(&out), Vec::<String>::new());
    assert!(out.join(".manifest.partial.jsonl").exists(), "journal kept");
    assert!(
        !out.join("manifest.json").exists(),
        "no manifest for a stopped run"
    );
    let images = std::fs::read_dir(&out)
        .expect("ls")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".img"))
        .count();
    assert!(images > 0 && images < 200, "{images} images");
    let o = t
        .cmd()
        .args(args)
        .stderr_contains(format!(
            "burnline: resuming: {images} image(s) were built by an earlier run"
        ))
        .stderr_contains(format!(
            "burnline: built {} image(s) in out; {images} more were done by an earlier run",
            200 - images
        ))
        .run();
    assert!(!o.stderr.contains("panicked"), "{}", o.stderr);
    assert_eq!(temp_files(&out), Vec::<String>::new());
    assert!(out.join("manifest.json").exists());
}

/// Item 23: a closed stdout: `plan` and `build --json` end without a panic,
/// and the build is whole (it had nothing left to stop).
#[test]
fn a_closed_stdout_is_no_panic() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 3, "");
    let (code, stderr) = with_closed(d, &["plan", s(&r)], false, &[]);
    assert_eq!(code, 0, "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let args = ["build", s(&r), "--devices", s(&c), "--out", "out", "--json"];
    let (code, stderr) = with_closed(d, &args, false, &[]);
    assert_eq!(code, 0, "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(d.join("out/manifest.json").exists());
    assert!(!d.join("out/.manifest.partial.jsonl").exists());
    assert_eq!(temp_files(&d.join("out")), Vec::<String>::new());
}

/// Item 24: `plan` lays out the disk without the ProductSecret (its
/// variable unset, its file absent); `check` still needs it.
#[test]
fn plan_never_asks_for_the_product_secret() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 1, "");
    let text = std::fs::read_to_string(&r).expect("recipe");
    for (name, source) in [
        ("env.yaml", "{env: BURNLINE_TEST_UNSET_PS}"),
        ("file.yaml", "{file: no-such-secret.txt}"),
    ] {
        let ps = text.replace(
            "auth: {mode: device-secret, product_key: a1X2bEnP82z}",
            &format!("auth: {{mode: product-secret, product_key: a1X2bEnP82z, product_secret: {source}}}"),
        );
        std::fs::write(d.join(name), ps).expect("recipe");
        t.cmd()
            .args(["plan", name])
            .env_remove("BURNLINE_TEST_UNSET_PS")
            .stdout_contains("credentials (record)")
            .run();
        t.cmd()
            .args(["check", name, "--devices", s(&c)])
            .env_remove("BURNLINE_TEST_UNSET_PS")
            .status(2)
            .error_line("auth.product_secret")
            .run();
    }
    // Its form is still checked.
    let both = text.replace(
        "auth: {mode: device-secret, product_key: a1X2bEnP82z}",
        "auth: {mode: product-secret, product_key: a1X2bEnP82z, product_secret: {env: A, file: b}}",
    );
    std::fs::write(d.join("both.yaml"), both).expect("recipe");
    t.cmd()
        .args(["plan", "both.yaml"])
        .status(2)
        .error_line("auth.product_secret: give exactly one of `env` and `file`")
        .run();
}

/// Item 24: a credentials partition over 1 PiB is one broken rule, on its
/// size; nothing claims the recipe has no credentials partition.
#[test]
fn a_credentials_partition_over_a_pebibyte_is_one_line() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 1, "");
    let text = std::fs::read_to_string(&r)
        .expect("recipe")
        .replace("{name: creds, size: 1MiB,", "{name: creds, size: 1025TiB,");
    std::fs::write(&r, text).expect("recipe");
    let o = t
        .cmd()
        .args(["check", s(&r), "--devices", s(&c)])
        .status(2)
        .error_line("partitions[1].size: 1126999418470400 bytes is more than 1 PiB")
        .stderr_lacks("exactly one partition")
        .run();
    assert_eq!(
        o.stderr
            .lines()
            .filter(|l| l.starts_with("error: "))
            .count(),
        1,
        "{}",
        o.stderr
    );
    // Two credentials partitions are still two.
    let two = std::fs::read_to_string(&r)
        .expect("recipe")
        .replace("size: 1025TiB,", "size: 1MiB,")
        .replace(
            "{name: data, size: fill}",
            "{name: data, size: fill, credentials: {}}",
        );
    std::fs::write(&r, two).expect("recipe");
    t.cmd()
        .args(["check", s(&r), "--devices", s(&c)])
        .status(2)
        .error_line("exactly one partition must have `credentials:`, found 2")
        .run();
}

/// Item 24: two partition names that Linux reads alike (it keeps the low
/// byte of each UTF-16 unit: `ţreds` is `creds` in PARTNAME and
/// /dev/disk/by-partlabel) would give the device two credentials
/// partitions, the first winning: `check` refuses the second.
#[test]
fn two_names_the_kernel_reads_alike_are_refused() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 1, "");
    let text = std::fs::read_to_string(&r).expect("recipe");
    for (other, kernel) in [("\u{163}reds", "creds"), ("creds\u{100}x", "creds")] {
        let bad = text.replace(
            "{name: data, size: fill}",
            &format!("{{name: \"{other}\", size: 1MiB}}\n  - {{name: data, size: fill}}"),
        );
        std::fs::write(&r, bad).expect("recipe");
        t.cmd()
            .args(["check", s(&r), "--devices", s(&c)])
            .status(2)
            .error_line(format!(
                "partitions[2].name: partition name `{other}` reads as `{kernel}` to the Linux kernel"
            ))
            .error_line("as partitions[1].name does")
            .run();
    }
}
