//! The identity pool on SQLite, through the CLI: init, import (idempotent,
//! conflicts refused with their line), flash --pool, status, export (secrets
//! only when asked), release; the database file holds no secret in clear;
//! each bad input gets one line, its exit code and nothing written; crashes
//! after each durable step settle on restart; and 4 station processes on one
//! SQLite file, SIGKILLed at random and restarted, put every identity on
//! exactly one card or in quarantine; the history's hash chain verifies,
//! shows each edit a DBA can make, and covers a migrated version-1 pool
//! (`common::pool_chain`).

mod common;

use common::pool_chain;
use common::pool_line::{check_line, make_pool, pool_flash, run_line, secret_of, tiny, Db, Line};
use common::{s, Test};
use std::path::Path;
use std::time::Duration;

fn flash(
    t: &Test,
    db: &Db<'_>,
    recipe: &Path,
    key: &Path,
    station: &str,
    targets: &[&Path],
) -> Test {
    pool_flash(t, &db.url(), recipe, key, station, targets)
}

#[test]
fn init_import_flash_status_export_release() {
    let t = Test::new();
    let d = t.path().to_path_buf();
    let (recipe, csv) = tiny(&d, 5);
    let db = Db::Sqlite(d.join("pool.db"));
    let key = make_pool(&t, &db, &recipe, &csv);
    // The key file is 0600; init again is a no-op that keeps the key.
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key).expect("key").permissions().mode() & 0o777,
        0o600
    );
    t.cmd()
        .args(["pool", "init", "--db", &db.url(), "--key-file", s(&key)])
        .stderr_contains("schema version 4 is current")
        .run();
    // Importing the same rows again adds nothing.
    t.cmd()
        .args([
            "pool",
            "import",
            "--db",
            &db.url(),
            s(&recipe),
            "--devices",
            s(&csv),
        ])
        .args(["--key-file", s(&key)])
        .stderr_contains("0 identit(ies) added, 5 already in the pool")
        .run();
    let (a, b) = (d.join("a.img"), d.join("b.img"));
    flash(&t, &db, &recipe, &key, "st1", &[&a, &b])
        .stderr_contains("ok: a1X2bEnP82z/gw-0000")
        .stderr_lacks(secret_of(1))
        .run();
    // The cards hold their identities, as the field reads them back.
    let shown = t
        .cmd()
        .args(["inspect", s(&a), "--reveal-secrets", "--json"])
        .run()
        .stdout;
    assert!(
        shown.contains("gw-00001") || shown.contains("gw-00002"),
        "{shown}"
    );
    t.cmd()
        .args(["pool", "status", "--db", &db.url()])
        .stdout_contains("available    3")
        .stdout_contains("verified     2")
        .stdout_contains("station st1 (not running")
        .stdout_contains("verified 2")
        .run();
    let csv_out = t
        .cmd()
        .args(["pool", "export", "--db", &db.url()])
        .stdout_contains("product_key,device_name,state,station,target,card,digest")
        .stdout_contains(format!("verified,st1,{}", a.display()))
        .stdout_contains(format!("file {}", a.display()))
        .run()
        .stdout;
    for i in 1..=5 {
        assert!(!csv_out.contains(&secret_of(i)), "a secret in the export");
    }
    let json = t
        .cmd()
        .args([
            "pool",
            "export",
            "--db",
            &db.url(),
            "--format",
            "json",
            "--reveal-secrets",
        ])
        .args(["--key-file", s(&key)])
        .run()
        .stdout;
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v.as_array().expect("array").len(), 5);
    assert_eq!(v[2]["device_secret"], secret_of(3));
    assert_eq!(v[0]["state"], "verified");
    // No secret in clear in the database file or its dump.
    let file = std::fs::read(d.join("pool.db")).expect("db");
    let dump = std::process::Command::new("sqlite3")
        .arg(d.join("pool.db"))
        .arg(".dump")
        .output()
        .expect("sqlite3")
        .stdout;
    for i in 1..=5 {
        let sec = secret_of(i);
        assert!(
            !file.windows(sec.len()).any(|w| w == sec.as_bytes()),
            "secret in pool.db"
        );
        assert!(
            !String::from_utf8_lossy(&dump).contains(&sec),
            "secret in the dump"
        );
    }
    // Only a quarantined identity can be released.
    t.cmd()
        .args([
            "pool",
            "release",
            "--db",
            &db.url(),
            "gw-00001",
            "--reason",
            "test",
        ])
        .status(2)
        .stderr_contains("is verified, not quarantined")
        .stderr_lines(1)
        .run();
    // The history is append-only, by the database's own rule.
    let out = std::process::Command::new("sqlite3")
        .arg(d.join("pool.db"))
        .arg("DELETE FROM history")
        .output()
        .expect("sqlite3");
    assert!(String::from_utf8_lossy(&out.stderr).contains("append-only"));
}

#[test]
fn a_crash_after_each_step_settles_on_restart() {
    let t = Test::new();
    let d = t.path().to_path_buf();
    let (recipe, csv) = tiny(&d, 6);
    let db = Db::Sqlite(d.join("pool.db"));
    let key = make_pool(&t, &db, &recipe, &csv);
    // Killed right after the lease, before a byte: proven absent on restart.
    let c1 = d.join("c1.img");
    flash(&t, &db, &recipe, &key, "st1", &[&c1])
        .env("FAILPOINTS", "pool-after-lease=return")
        .signal(6)
        .run();
    assert_eq!(
        db.rows("SELECT state FROM identities WHERE device_name='gw-00001'")[0][0],
        "leased"
    );
    // Killed after `written`: the card holds it, so it is quarantined.
    let c2 = d.join("c2.img");
    flash(&t, &db, &recipe, &key, "st1", &[&c2])
        .env("FAILPOINTS", "pool-after-written=return")
        .signal(6)
        .stderr_contains("gw-00001 was leased")
        .stderr_contains("back in the pool")
        .run();
    let c3 = d.join("c3.img");
    flash(&t, &db, &recipe, &key, "st1", &[&c3])
        .stderr_contains("gw-00001 was written")
        .stderr_contains("quarantined")
        .run();
    let st = db.rows("SELECT device_name, state, target FROM identities ORDER BY id");
    assert_eq!(st[0][1], "quarantined", "{st:?}");
    assert_eq!(st[0][2], s(&c2), "quarantined with the card it is on");
    assert_eq!(st[1][1], "verified", "{st:?}");
    // The one way back is a person's release, with a reason in the history.
    t.cmd()
        .args([
            "pool",
            "release",
            "--db",
            &db.url(),
            "gw-00001",
            "--reason",
            "card c2 wiped",
        ])
        .run();
    let h = db.rows("SELECT from_state, to_state, reason FROM history WHERE device_name='gw-00001' ORDER BY seq");
    let path: Vec<String> = h.iter().map(|r| r[1].clone()).collect();
    assert_eq!(
        path,
        [
            "available",
            "leased",
            "available",
            "leased",
            "written",
            "quarantined",
            "available"
        ]
    );
    assert!(h[6][2].contains("card c2 wiped"), "{h:?}");
    t.cmd()
        .args(["pool", "history", "--db", &db.url(), "gw-00001"])
        .stdout_contains("seq,time_ms,product_key,device_name,from,to,station,target,card,reason")
        .stdout_contains(",a1X2bEnP82z,gw-00001,written,quarantined,st1,")
        .stdout_contains("card c2 wiped")
        .stdout_count(",gw-00001,", 7)
        .run();
    // A failed write (a target that cannot hold the image is refused before
    // a lease; one that fails while written is quarantined).
    let small = d.join("small.img");
    std::fs::write(&small, vec![7u8; 4096]).expect("small");
    flash(&t, &db, &recipe, &key, "st1", &[&small])
        .status(2)
        .stderr_contains("too small")
        .stderr_contains("nothing was written")
        .run();
    assert!(std::fs::read(&small)
        .expect("small")
        .iter()
        .all(|b| *b == 7));
    assert_eq!(
        db.rows("SELECT count(*) FROM identities WHERE state='leased'")[0][0],
        "0"
    );
}

#[test]
fn bad_input_one_line_exit_code_nothing_written() {
    let t = Test::new();
    let d = t.path().to_path_buf();
    let (recipe, csv) = tiny(&d, 3);
    let db = Db::Sqlite(d.join("pool.db"));
    let key = make_pool(&t, &db, &recipe, &csv);
    // A CSV that conflicts with the pool: named by line, nothing imported.
    let conflict = d.join("conflict.csv");
    std::fs::write(
        &conflict,
        format!(
            "DeviceName,DeviceSecret,ProductKey\ngw-00009,{},a1X2bEnP82z\ngw-00002,{},a1X2bEnP82z\n",
            secret_of(9),
            secret_of(99)
        ),
    )
    .expect("csv");
    t.cmd()
        .args([
            "pool",
            "import",
            "--db",
            &db.url(),
            s(&recipe),
            "--devices",
            s(&conflict),
        ])
        .args(["--key-file", s(&key)])
        .status(2)
        .error_line(format!(
            "{}:3: DeviceName: `gw-00002` is already in the pool with a different DeviceSecret",
            conflict.display()
        ))
        .stderr_lines(2)
        .run();
    assert_eq!(
        db.rows("SELECT count(*) FROM identities")[0][0],
        "3",
        "nothing imported"
    );
    // A key file that does not decrypt the pool.
    let other = d.join("other.key");
    t.cmd()
        .args([
            "pool",
            "init",
            "--db",
            &format!("sqlite:{}", d.join("other.db").display()),
        ])
        .args(["--key-file", s(&other)])
        .run();
    let card = d.join("card.img");
    flash(&t, &db, &recipe, &other, "st1", &[&card])
        .status(2)
        .stderr_contains("does not decrypt this pool")
        .stderr_lines(1)
        .absent(&card)
        .run();
    // A key file others can read.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    flash(&t, &db, &recipe, &other, "st1", &[&card])
        .status(2)
        .stderr_contains("must be 0600")
        .stderr_lines(1)
        .absent(&card)
        .run();
    // A schema newer than the binary.
    let newer = d.join("newer.db");
    std::fs::copy(d.join("pool.db"), &newer).expect("copy");
    let out = std::process::Command::new("sqlite3")
        .arg(&newer)
        .arg("UPDATE burnline_meta SET value='99' WHERE key='schema_version'")
        .output()
        .expect("sqlite3");
    assert!(out.status.success());
    flash(
        &t,
        &Db::Sqlite(newer.clone()),
        &recipe,
        &key,
        "st1",
        &[&card],
    )
    .status(2)
    .stderr_contains("schema version 99 is newer than this burnline knows (4)")
    .stderr_lines(1)
    .absent(&card)
    .run();
    // No pool there.
    flash(
        &t,
        &Db::Sqlite(d.join("nowhere/pool.db")),
        &recipe,
        &key,
        "st1",
        &[&card],
    )
    .status(2)
    .stderr_contains("not a burnline pool")
    .stderr_lines(1)
    .absent(&card)
    .run();
    // A station name held by a live process (this one holds its lock
    // while it sleeps after its lease).
    let held = d.join("held.img");
    let mut live = flash(&t, &db, &recipe, &key, "st1", &[&held])
        .env("FAILPOINTS", "pool-after-lease=sleep(20000)")
        .any_status()
        .spawn();
    let start = std::time::Instant::now();
    while db.rows("SELECT count(*) FROM identities WHERE state='leased'")[0][0] != "1" {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the live station never leased"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    t.cmd()
        .args(["pool", "status", "--db", &db.url()])
        .stdout_contains("station st1 (live")
        .run();
    flash(&t, &db, &recipe, &key, "st1", &[&card])
        .status(2)
        .stderr_contains("station `st1` is in use by another live process")
        .stderr_lines(1)
        .absent(&card)
        .run();
    live.kill();
    live.wait();
    // A bad URL.
    t.cmd()
        .args(["pool", "status", "--db", "mysql://x"])
        .status(2)
        .stderr_contains("not a pool URL")
        .run();
}

#[test]
fn four_processes_on_one_sqlite_file_sigkilled_and_restarted() {
    let t = Test::new();
    let d = t.path().to_path_buf();
    let n = 240;
    let (recipe, csv) = tiny(&d, n);
    let db = Db::Sqlite(d.join("pool.db"));
    let key = make_pool(&t, &db, &recipe, &csv);
    let cards = d.join("cards");
    let report = run_line(
        &t,
        &db,
        &recipe,
        &key,
        &cards,
        &Line {
            stations: 4,
            per_run: 6,
            kills: 12,
            seed: 0x5eed_0001,
            limit: Duration::from_secs(240),
        },
    );
    assert!(report.killed > 0, "no station was killed");
    let states = check_line(&db, &cards, n);
    eprintln!("{} runs, {} killed: {states:?}", report.runs, report.killed);
    assert!(states.get("verified").copied().unwrap_or(0) >= n - report.killed * 6);
    // The history's chains, written by parallel stations killed at random,
    // are intact, and replay to every identity's state.
    t.cmd()
        .args(["pool", "verify", "--db", &db.url()])
        .stdout_contains(format!("{n} identit(ies)"))
        .stdout_contains("every chain intact")
        .run();
}

#[test]
fn register_host_issued_secrets_are_stored_encrypted_with_the_lease() {
    use common::emulator::{state_secrets, write_products, Emulator};
    use common::{PK, PS};
    let t = Test::new().env("TEST_PRODUCT_SECRET", PS);
    let d = t.path().to_path_buf();
    let products = write_products(&d, &["gw-00001", "gw-00002", "gw-00003"]);
    let state = d.join("state.json");
    let emu = Emulator::start(&d, &products, &["--state", s(&state)]);
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
    let csv = d.join("devices.csv");
    std::fs::write(
        &csv,
        // gw-00009 is not a device of the product: the platform refuses it.
        "DeviceName,Nickname\ngw-00009,\ngw-00001,\ngw-00002,\ngw-00003,\n",
    )
    .expect("csv");
    let db = Db::Sqlite(d.join("pool.db"));
    let key = make_pool(&t, &db, &recipe, &csv);
    // A refused device is set aside (quarantined, with the platform's
    // answer), so the next card takes the next identity.
    let refused = d.join("refused.img");
    flash(&t, &db, &recipe, &key, "st1", &[&refused])
        .status(3)
        .absent(&refused)
        .run();
    let q = db.rows("SELECT state, reason FROM identities WHERE device_name = 'gw-00009'");
    assert_eq!(q[0][0], "quarantined", "{q:?}");
    assert!(q[0][1].starts_with("registration refused"), "{q:?}");
    let (a, b) = (d.join("a.img"), d.join("b.img"));
    flash(&t, &db, &recipe, &key, "st1", &[&a, &b]).run();
    let issued = state_secrets(&state);
    assert_eq!(issued.len(), 2, "two devices registered");
    assert!(issued.iter().all(|(dn, _)| dn != "gw-00009"));
    // Stored with the lease, encrypted: in the export only when revealed,
    // never in clear in the file.
    let json = t
        .cmd()
        .args([
            "pool",
            "export",
            "--db",
            &db.url(),
            "--format",
            "json",
            "--reveal-secrets",
        ])
        .args(["--key-file", s(&key)])
        .run()
        .stdout;
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    let file = std::fs::read(d.join("pool.db")).expect("db");
    for (dn, secret) in &issued {
        let row = v
            .as_array()
            .expect("rows")
            .iter()
            .find(|r| r["device_name"] == dn.as_str())
            .expect("row");
        assert_eq!(row["issued_secret"], secret.as_str(), "{dn}");
        assert_eq!(row["state"], "verified");
        assert!(
            !file.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "issued secret in clear"
        );
        let card = std::path::PathBuf::from(row["target"].as_str().expect("target"));
        let bytes = std::fs::read(&card).expect("card");
        assert!(
            bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{dn}: card lacks its secret"
        );
    }
    // The registration is recorded in the history of the lease.
    let h = db.rows("SELECT reason FROM history WHERE to_state = 'leased'");
    assert_eq!(h.len(), 2);
    assert!(
        h.iter().all(|r| r[0].contains("issued secret stored")),
        "{h:?}"
    );
}

#[test]
fn an_age_encrypted_list_imports_as_the_plain_one_does() {
    use std::os::unix::fs::PermissionsExt;
    let t = Test::new();
    let d = t.path().to_path_buf();
    let (recipe, csv) = tiny(&d, 3);
    let id = d.join("id.txt");
    t.tool("age-keygen").args(["-o", s(&id)]).run();
    std::fs::set_permissions(&id, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let recipient = std::fs::read_to_string(&id)
        .expect("identity")
        .lines()
        .find_map(|l| l.strip_prefix("# public key: ").map(str::to_owned))
        .expect("public key");
    let sealed = d.join("devices.csv.age");
    t.tool("age")
        .args(["-e", "-r", &recipient, "-o", s(&sealed), s(&csv)])
        .run();
    let db = Db::Sqlite(d.join("pool.db"));
    let key = d.join("pool.key");
    t.cmd()
        .args(["pool", "init", "--db", &db.url(), "--key-file", s(&key)])
        .run();
    t.cmd()
        .args([
            "pool",
            "import",
            "--db",
            &db.url(),
            s(&recipe),
            "--devices",
            s(&sealed),
        ])
        .args(["--identity", s(&id), "--key-file", s(&key)])
        .stderr_contains("3 identit(ies) added")
        .stderr_lacks(secret_of(1))
        .run();
    // The plain list is the same identities: nothing more is added.
    t.cmd()
        .args([
            "pool",
            "import",
            "--db",
            &db.url(),
            s(&recipe),
            "--devices",
            s(&csv),
        ])
        .args(["--key-file", s(&key)])
        .stderr_contains("0 identit(ies) added, 3 already in the pool")
        .run();
}

#[test]
fn the_history_is_chained_and_a_dba_s_edits_show() {
    let t = Test::new();
    let d = t.path().to_path_buf();
    let db = Db::Sqlite(d.join("pool.db"));
    pool_chain::normal_line(&t, &db);
    let copy = |name: &str| {
        let p = d.join(format!("{name}.db"));
        db.rows(&format!(".backup '{}'", p.display()));
        Db::Sqlite(p)
    };
    pool_chain::tampering_shows(&t, &db, &copy);
}

#[test]
fn a_version_1_pool_s_history_is_chained_by_pool_init() {
    let t = Test::new();
    let db = Db::Sqlite(t.path().join("v1.db"));
    pool_chain::a_version_1_pool_is_chained_by_its_migration(&t, &db);
}

/// A fresh PC: the pool's directory, or a new key file's, does not exist.
/// Each is refused as bad input (exit 2) naming the directory, before
/// anything is made: no `pool.db` (nor its journal), no key file; made
/// once the directory exists.
#[test]
fn a_missing_directory_is_refused_by_name_and_nothing_is_made() {
    let t = Test::new();
    let d = t.path().to_path_buf();
    let no_dir = d.join("var/lib/burnline");
    t.cmd()
        .args([
            "pool",
            "init",
            "--db",
            &format!("sqlite:{}", no_dir.join("pool.db").display()),
            "--key-file",
            "pool.key",
        ])
        .status(2)
        .stderr_contains(format!(
            "the directory {} does not exist; make it first",
            no_dir.display()
        ))
        .stderr_lines(1)
        .absent("var")
        .absent("pool.key")
        .run();
    // The pool's directory exists, the key file's does not.
    let key_dir = d.join("etc/burnline");
    t.cmd()
        .args(["pool", "init", "--db", "sqlite:pool.db", "--key-file"])
        .arg(key_dir.join("pool.key"))
        .status(2)
        .stderr_contains(format!(
            "key file {}: the directory {} does not exist",
            key_dir.join("pool.key").display(),
            key_dir.display()
        ))
        .stderr_lines(1)
        .absent("pool.db")
        .absent("pool.db-wal")
        .absent("pool.db-shm")
        .absent("etc")
        .run();
    std::fs::create_dir_all(&no_dir).expect("mkdir");
    std::fs::create_dir_all(&key_dir).expect("mkdir");
    t.cmd()
        .args([
            "pool",
            "init",
            "--db",
            &format!("sqlite:{}", no_dir.join("pool.db").display()),
            "--key-file",
        ])
        .arg(key_dir.join("pool.key"))
        .run();
    assert!(no_dir.join("pool.db").is_file() && key_dir.join("pool.key").is_file());
}

/// A fresh SQLite file is removed again when the init fails after making
/// it: here the key file given is readable by others.
#[test]
fn a_failed_init_leaves_no_pool_file() {
    let t = Test::new();
    let key = t.path().join("pool.key");
    std::fs::write(&key, "not a key\n").expect("key");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    t.cmd()
        .args([
            "pool",
            "init",
            "--db",
            "sqlite:pool.db",
            "--key-file",
            "pool.key",
        ])
        .status(2)
        .stderr_contains("must be 0600")
        .stderr_lines(1)
        .absent("pool.db")
        .absent("pool.db-wal")
        .absent("pool.db-shm")
        .run();
}
