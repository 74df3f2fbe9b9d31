//! Issue 22's command-line items, through the real binary: every secret a
//! command takes has a way in that stays out of the process list (standard
//! input, a file only its owner reads, an environment variable), and one
//! given in clear draws a warning; a build without `--features failpoints`
//! ignores `FAILPOINTS`; `station report --until` before `--since` is a
//! usage error; no cell of the history, export or report CSVs is a
//! spreadsheet formula; and `pool release` is attributed to the account of
//! the process's uid, not to `$USER`.
//!
//! scripts/test.sh runs this file twice: with the workspace's tests (built
//! with `--features failpoints`) and alone in a build without the feature,
//! as a release is.

mod common;

use clap::CommandFactory;
use common::emulator::{write_products, Emulator};
use common::pool_line::{make_pool, tiny, Db};
use common::{burnline_bin, s, Test, DS1, DS2, PK, PS};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// What stderr says of a secret given in clear on the command line.
const WARNING: &str = "is visible to every user of this machine";

/// Writes `text` to `name` in `t`'s directory with `mode`.
fn secret_file(t: &Test, name: &str, text: &str, mode: u32) -> PathBuf {
    let p = t.path().join(name);
    std::fs::write(&p, text).expect("secret file");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
    p
}

#[test]
fn every_secret_argument_has_a_way_in_off_the_command_line() {
    // Each argument of any subcommand that takes a secret's value: (the
    // subcommand, the argument, its file option, its environment variable).
    let known = [
        (
            "register",
            "product_secret",
            "product_secret_file",
            "BURNLINE_PRODUCT_SECRET",
        ),
        (
            "mqtt-credentials",
            "device_secret",
            "device_secret_file",
            "BURNLINE_DEVICE_SECRET",
        ),
    ];
    fn walk(cmd: &clap::Command, found: &mut Vec<(String, String, Vec<String>, String)>) {
        let ids: Vec<String> = cmd
            .get_arguments()
            .map(|a| a.get_id().as_str().to_owned())
            .collect();
        for a in cmd.get_arguments() {
            let id = a.get_id().as_str();
            let secretish = ["secret", "password", "token", "passphrase"]
                .iter()
                .any(|w| id.contains(w));
            // A switch (`--reveal-secrets`) or a file's path holds no secret.
            if secretish && a.get_action().takes_values() && !id.ends_with("_file") {
                let help = a.get_help().map(ToString::to_string).unwrap_or_default();
                found.push((cmd.get_name().to_owned(), id.to_owned(), ids.clone(), help));
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, found);
        }
    }
    let mut found = Vec::new();
    walk(&burnline::cmdline::Cli::command(), &mut found);
    let names: Vec<(&str, &str)> = found
        .iter()
        .map(|(c, a, _, _)| (c.as_str(), a.as_str()))
        .collect();
    assert_eq!(
        names,
        known.iter().map(|k| (k.0, k.1)).collect::<Vec<_>>(),
        "each argument that takes a secret needs its ways off the command line, tested below"
    );
    for ((_, arg, ids, help), (_, _, file, env)) in found.iter().zip(known) {
        assert!(ids.iter().any(|i| i == file), "{arg}: no {file}");
        assert!(
            help.contains("standard input") && help.contains(env),
            "{arg}'s help names `-` and {env}: {help}"
        );
    }
}

#[test]
fn mqtt_credentials_takes_the_device_secret_from_stdin_a_file_or_the_environment() {
    let t = Test::new();
    let run = || {
        t.cmd()
            .args(["mqtt-credentials", "--product-key", PK])
            .args(["--device-name", "gw-1", "--timestamp", "1700000000000"])
            .env_remove("BURNLINE_DEVICE_SECRET")
    };
    // In clear: it works, with the warning, which does not repeat it.
    let clear = run()
        .args(["--device-secret", DS1])
        .stderr_contains(WARNING)
        .stderr_contains("--device-secret-file")
        .stderr_lacks(DS1)
        .run();
    assert!(clear.stdout.contains("\npassword: "), "{}", clear.stdout);
    let want = clear.stdout.clone();

    // Standard input, a 0600 file and the environment give the same
    // credentials, without the warning.
    run()
        .args(["--device-secret", "-"])
        .stdin(format!("{DS1}\n"))
        .stdout(want.clone())
        .stderr_lacks(WARNING)
        .run();
    let file = secret_file(&t, "ds.txt", &format!("{DS1}\n"), 0o600);
    run()
        .args(["--device-secret-file", s(&file)])
        .stdout(want.clone())
        .stderr_lacks(WARNING)
        .run();
    run()
        .env("BURNLINE_DEVICE_SECRET", DS1)
        .stdout(want.clone())
        .stderr_lacks(WARNING)
        .run();
    // What is read is what counts: another secret on stdin, another password.
    let other = run().args(["--device-secret", "-"]).stdin(DS2).run();
    assert_ne!(other.stdout, want);

    // A file others may read, two lines, none at all: exit 2, one line that
    // names the way in, and no secret in it.
    let open = secret_file(&t, "open.txt", DS1, 0o644);
    run()
        .args(["--device-secret-file", s(&open)])
        .status(2)
        .stderr_contains("open.txt")
        .stderr_contains("chmod 600")
        .stderr_lacks(DS1)
        .stdout("")
        .run();
    run()
        .args(["--device-secret", "-"])
        .stdin(format!("{DS1}\n{DS2}\n"))
        .status(2)
        .stderr_contains("more than one line")
        .stderr_lacks(DS1)
        .stderr_lacks(DS2)
        .stdout("")
        .run();
    run()
        .status(2)
        .stderr_contains("BURNLINE_DEVICE_SECRET")
        .stdout("")
        .run();
    run()
        .args(["--device-secret", "-", "--device-secret-file", s(&file)])
        .status(2)
        .run();
}

#[test]
fn register_takes_the_product_secret_from_stdin_a_file_or_the_environment() {
    let t = Test::new();
    let names = ["in-clear", "from-stdin", "from-file", "from-env", "vendor"];
    let products = write_products(t.path(), &names);
    let emu = Emulator::start(t.path(), &products, &[]);
    let register = |dn: &str| {
        t.cmd()
            .args(["register", PK, dn])
            .env_remove("BURNLINE_PRODUCT_SECRET")
    };
    let tail = ["--endpoint", emu.url.as_str()];

    // The drop-in's positional form works, with the warning.
    register("in-clear")
        .arg(PS)
        .args(tail)
        .stdout_contains("DeviceInfo: ")
        .stderr_contains(WARNING)
        .stderr_lacks(PS)
        .run();
    // So under the vendor's name.
    let link = t.path().join("tool_generate_3triple");
    std::os::unix::fs::symlink(burnline_bin(), &link).expect("symlink");
    t.cmd()
        .program(&link)
        .args([PK, "vendor", PS])
        .args(tail)
        .stderr_contains(WARNING)
        .stderr_lacks(PS)
        .run();

    // `-`: standard input. A wrong secret there is the platform's 6600, so
    // what is read is what is signed with.
    register("from-stdin")
        .arg("-")
        .args(tail)
        .stdin("0000000000000000\n")
        .status(3)
        .stderr_contains("6600")
        .run();
    register("from-stdin")
        .arg("-")
        .args(tail)
        .stdin(format!("{PS}\n"))
        .stdout_contains("DeviceInfo: ")
        .stderr_lacks(WARNING)
        .run();
    // `-` with the variable set (what `-` meant before): standard input is
    // read, and its being empty says how the variable is read.
    register("from-stdin")
        .arg("-")
        .args(tail)
        .env("BURNLINE_PRODUCT_SECRET", PS)
        .status(2)
        .stderr_contains("to read BURNLINE_PRODUCT_SECRET, leave PS out")
        .stderr_lacks(PS)
        .run();
    let file = secret_file(&t, "ps.txt", PS, 0o600);
    register("from-file")
        .args(["--product-secret-file", s(&file)])
        .args(tail)
        .stdout_contains("DeviceInfo: ")
        .stderr_lacks(WARNING)
        .run();
    register("from-env")
        .args(tail)
        .env("BURNLINE_PRODUCT_SECRET", PS)
        .stdout_contains("DeviceInfo: ")
        .stderr_lacks(WARNING)
        .run();
    for dn in names {
        assert!(emu.registered(dn), "{dn}");
    }

    // A file others may read, or no secret at all: exit 2, nothing sent.
    let open = secret_file(&t, "open.txt", PS, 0o640);
    register("in-clear")
        .args(["--product-secret-file", s(&open)])
        .args(tail)
        .status(2)
        .stderr_contains("chmod 600")
        .stderr_lacks(PS)
        .run();
    register("in-clear")
        .args(tail)
        .status(2)
        .stderr_contains("--product-secret-file")
        .stderr_contains("BURNLINE_PRODUCT_SECRET")
        .run();
}

#[test]
fn failpoints_act_only_in_a_build_with_the_feature() {
    let t = Test::new();
    let d = t.path().to_path_buf();
    let (recipe, csv) = tiny(&d, 2);
    let build = |out: &str, spec: &str| {
        t.cmd()
            .args(["build", s(&recipe), "--devices", s(&csv), "--out", out])
            .failpoints(spec)
    };
    if cfg!(feature = "failpoints") {
        // The tests' build: the crash point aborts right after the base.
        build("crashed", "build-after-base=return").signal(6).run();
        assert!(!d.join("crashed/manifest.json").exists());
    } else {
        // As a release is built: the crash point is not there, and the
        // variable is not even read (a spec that `fail` cannot parse would
        // otherwise panic).
        for (out, spec) in [
            ("a", "build-after-base=return"),
            ("b", "build-after-journal=panic"),
            ("c", "this is no failpoint spec"),
        ] {
            build(out, spec).stderr_lacks("panicked").run();
            assert!(d.join(out).join("manifest.json").is_file(), "{out}");
        }
    }
}

#[test]
fn station_report_until_before_since_is_a_usage_error() {
    let t = Test::new();
    let d = t.path().to_path_buf();
    let (recipe, csv) = tiny(&d, 1);
    let db = Db::Sqlite(d.join("pool.db"));
    make_pool(&t, &db, &recipe, &csv);
    let out = d.join("report.csv");
    let report = |since: &str, until: &str| {
        t.cmd()
            .args(["station", "report", "--db", &db.url(), "--out", s(&out)])
            .args(["--since", since, "--until", until])
    };
    for (since, until) in [
        ("2026-12-02", "2026-12-01"),
        ("2026-12-02T08:00:00Z", "2026-12-02T08:00:00Z"),
        ("1796198400", "1796198399"),
    ] {
        report(since, until)
            .status(2)
            .stderr_contains("--until")
            .stderr_contains("is not after --since")
            .absent(&out)
            .run();
    }
    report("2026-12-01", "2026-12-02").run();
    assert!(out.is_file());
}

/// The account of this process's uid, as `id` names it.
fn account() -> String {
    let o = std::process::Command::new("id")
        .arg("-un")
        .output()
        .expect("id (coreutils)");
    assert!(o.status.success(), "id -un failed");
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

/// A pool of `devices` for a `register: host` recipe, so that each device
/// the emulator does not know is quarantined when a flash leases it, for a
/// person to release. Returns the pool, the recipe and the key file.
fn quarantined_pool(t: &Test, emu: &Emulator, devices: &[&str]) -> (Db<'static>, PathBuf, PathBuf) {
    let d = t.path();
    let recipe = d.join("host.yaml");
    std::fs::write(
        &recipe,
        format!(
            "disk: {{size: 256KiB, table: gpt, alignment: 4KiB, seed: 0123456789abcdef0123456789abcdef}}\n\
             partitions:\n  - {{name: creds, size: fill, credentials: {{}}}}\n\
             auth: {{mode: product-secret, product_key: {PK}, product_secret: {{env: TEST_PRODUCT_SECRET}}, register: host, endpoint: \"{}\"}}\n",
            emu.url
        ),
    )
    .expect("recipe");
    let mut csv = String::from("DeviceName,Nickname\n");
    for dn in devices {
        csv.push_str(&format!("{dn},\n"));
    }
    let list = d.join("devices.csv");
    std::fs::write(&list, csv).expect("csv");
    let db = Db::Sqlite(d.join("pool.db"));
    let key = make_pool(t, &db, &recipe, &list);
    (db, recipe, key)
}

fn flash_one(t: &Test, db: &Db<'_>, recipe: &Path, key: &Path, station: &str, card: &str) -> Test {
    t.cmd()
        .args(["flash", "--pool", &db.url(), "--recipe", s(recipe)])
        .arg(format!("--station={station}"))
        .args(["--key-file", s(key), "--target", s(&t.path().join(card))])
}

#[test]
fn no_csv_cell_is_a_formula_and_a_release_names_the_uid_s_account() {
    let t = Test::new().env("TEST_PRODUCT_SECRET", PS);
    let products = write_products(t.path(), &["@gw-1"]);
    let emu = Emulator::start(t.path(), &products, &[]);
    // DeviceNames and station names may start with `@` or `-`, which a
    // spreadsheet runs as a formula. The emulator knows only @gw-1.
    let (db, recipe, key) = quarantined_pool(&t, &emu, &["@gw-8", "-gw-9", "@gw-1"]);
    for card in ["a.img", "b.img"] {
        flash_one(&t, &db, &recipe, &key, "-1-1", card)
            .status(3)
            .run();
    }
    flash_one(&t, &db, &recipe, &key, "-1-1", "c.img").run();
    let q = db.rows("SELECT device_name, state FROM identities ORDER BY device_name");
    assert_eq!(
        q,
        [
            ["-gw-9", "quarantined"],
            ["@gw-1", "verified"],
            ["@gw-8", "quarantined"]
        ],
        "{q:?}"
    );

    // Released by someone who says they are mallory, and by someone who
    // says nothing: the history names the account of the uid both times.
    let me = account();
    let release = |dn: &str| {
        t.cmd()
            .args(["pool", "release", "--db", &db.url()])
            .args(["--reason", "=HYPERLINK(\"http://evil.example\",\"ok\")"])
            .args(["--", dn])
    };
    release("@gw-8").env("USER", "mallory").run();
    release("-gw-9").env_remove("USER").run();
    let why = db.rows("SELECT reason FROM history WHERE from_state = 'quarantined' ORDER BY seq");
    let want = format!("released by {me}: =HYPERLINK(\"http://evil.example\",\"ok\")");
    assert_eq!(why, [[want.clone()], [want]], "{why:?}");

    // The history, the export and the day's report: each cell that starts
    // with `=`, `+`, `-` or `@` starts with `'` instead.
    let history = t
        .cmd()
        .args(["pool", "history", "--db", &db.url()])
        .stdout_contains(",'@gw-8,")
        .stdout_contains(",'-gw-9,")
        .stdout_contains(",'-1-1,")
        .run()
        .stdout;
    let export = t
        .cmd()
        .args(["pool", "export", "--db", &db.url()])
        .stdout_contains(",'@gw-8,")
        .run()
        .stdout;
    let report = t
        .cmd()
        .args(["station", "report", "--db", &db.url(), "--since", "0"])
        .stdout_contains("'-1-1,")
        .stdout_contains(",'@gw-1,verified,")
        .run()
        .stdout;
    for (what, text) in [("history", history), ("export", export), ("report", report)] {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes());
        let mut cells = 0;
        for rec in rdr.records() {
            for cell in rec.expect("CSV").iter() {
                cells += 1;
                assert!(
                    !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                    "{what}: formula cell {cell:?} in\n{text}"
                );
            }
        }
        assert!(cells > 10, "{what}: {text}");
    }
}
