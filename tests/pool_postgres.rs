//! The identity pool on a real PostgreSQL (a throwaway cluster, see
//! `tests/common/postgres.rs`): the CLI round trip and a `pg_dump` holding
//! no secret in clear; bad input (unreachable server, wrong password, a
//! newer schema, a station name in use, a wrong key) as one line with its
//! exit code and nothing written; 8 station processes flashing 2,000
//! identities, SIGKILLed at random and restarted, with every identity
//! verified on exactly one card or quarantined; and the server stopped
//! under running stations, which stop with a clear error, no card written
//! without a recorded lease; and the history's hash chain, as on SQLite
//! (`common::pool_chain`).

mod common;

use common::pool_chain;
use common::pool_line::{check_line, make_pool, pool_flash, run_line, secret_of, tiny, Db, Line};
use common::postgres::{Postgres, PASSWORD};
use common::{s, Test};
use std::path::Path;
use std::time::Duration;

fn flash(t: &Test, url: &str, recipe: &Path, key: &Path, station: &str, targets: &[&Path]) -> Test {
    pool_flash(t, url, recipe, key, station, targets)
}

#[test]
fn round_trip_bad_input_and_a_dump_without_secrets() {
    let pg = Postgres::start();
    pg.createdb("line");
    let t = Test::new();
    let d = t.path().to_path_buf();
    let (recipe, csv) = tiny(&d, 5);
    let db = Db::Pg(&pg, "line".into());
    let key = make_pool(&t, &db, &recipe, &csv);
    // Over TCP with a password, too.
    let tcp = pg.tcp_url("postgres", PASSWORD, "line");
    let (a, b) = (d.join("a.img"), d.join("b.img"));
    flash(&t, &tcp, &recipe, &key, "st1", &[&a, &b])
        .stderr_contains("ok: a1X2bEnP82z/gw-0000")
        .stderr_lacks(PASSWORD)
        .run();
    t.cmd()
        .args(["pool", "status", "--db", &db.url(), "--json"])
        .stdout_contains("\"verified\":2")
        .stdout_contains("\"available\":3")
        .run();
    t.cmd()
        .args(["pool", "export", "--db", &db.url(), "--format", "json"])
        .stdout_contains(format!("\"card\":\"file {} dev=", a.display()))
        .stdout_lacks(secret_of(1))
        .run();
    let dump = pg.dump("line");
    assert!(dump.contains("gw-00001"), "the dump holds the pool");
    for i in 1..=4 {
        assert!(
            !dump.contains(&secret_of(i)),
            "a secret in clear in pg_dump"
        );
    }
    // The history is append-only.
    let mut c = pg.tool("psql");
    c.args(["-X", "-d", "line", "-c", "UPDATE history SET reason = 'x'"]);
    let out = c.output().expect("psql");
    assert!(String::from_utf8_lossy(&out.stderr).contains("append-only"));

    // A station killed after `written` finds its card holding the identity
    // when it starts again: quarantined; a person releases it.
    let c1 = d.join("c1.img");
    flash(&t, &db.url(), &recipe, &key, "st3", &[&c1])
        .env("FAILPOINTS", "pool-after-written=return")
        .signal(6)
        .run();
    let c2 = d.join("c2.img");
    flash(&t, &db.url(), &recipe, &key, "st3", &[&c2])
        .stderr_contains("gw-00003 was written")
        .stderr_contains("quarantined")
        .stderr_contains("1 identit(ies) left in the pool")
        .run();
    assert_eq!(
        db.rows("SELECT state FROM identities WHERE device_name = 'gw-00003'")[0][0],
        "quarantined"
    );
    t.cmd()
        .args([
            "pool",
            "release",
            "--db",
            &db.url(),
            "gw-00003",
            "--reason",
            "c1 wiped",
        ])
        .run();
    assert_eq!(
        db.rows("SELECT state FROM identities WHERE device_name = 'gw-00003'")[0][0],
        "available"
    );
    // The pool is empty for a card now: exit 6, and the card is not made.
    let c3 = d.join("c3.img");
    t.cmd()
        .args(["pool", "export", "--db", &db.url()])
        .stdout_contains("gw-00003,available")
        .run();
    flash(&t, &db.url(), &recipe, &key, "st3", &[&c3])
        .stderr_contains("gw-00003 ->")
        .run();
    let card = d.join("card.img");
    // An unreachable server (nothing listens on that port).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    flash(
        &t,
        &format!("postgres://postgres@127.0.0.1:{port}/line"),
        &recipe,
        &key,
        "st1",
        &[&card],
    )
    .status(5)
    .stderr_contains("cannot reach the pool database")
    .stderr_lines(1)
    .absent(&card)
    .run();
    // Wrong credentials: refused, and the password is not shown.
    flash(
        &t,
        &pg.tcp_url("postgres", "wrong-pw", "line"),
        &recipe,
        &key,
        "st1",
        &[&card],
    )
    .status(2)
    .stderr_contains("refused the login")
    .stderr_lacks("wrong-pw")
    .stderr_contains("visible to every local user")
    .stderr_lines(2)
    .absent(&card)
    .run();
    // TLS over the Unix socket is refused, not silently dropped (TLS over
    // TCP: tests/pool_tls.rs).
    flash(
        &t,
        &format!("{}&sslmode=require", db.url()),
        &recipe,
        &key,
        "st1",
        &[&card],
    )
    .status(2)
    .stderr_contains("no TLS over a socket")
    .absent(&card)
    .run();
    // A remote host without TLS is refused, and the password is not echoed.
    flash(
        &t,
        "postgres://u:hunter2pw@db.example.com/line",
        &recipe,
        &key,
        "st1",
        &[&card],
    )
    .status(2)
    .stderr_contains("not a loopback address")
    .stderr_lacks("hunter2pw")
    .stderr_lines(1)
    .absent(&card)
    .run();
    // A key file that does not decrypt the pool.
    let other = d.join("other.key");
    pg.createdb("other");
    t.cmd()
        .args([
            "pool",
            "init",
            "--db",
            &pg.url("other"),
            "--key-file",
            s(&other),
        ])
        .run();
    flash(&t, &db.url(), &recipe, &other, "st1", &[&card])
        .status(2)
        .stderr_contains("does not decrypt this pool")
        .stderr_lines(1)
        .absent(&card)
        .run();
    // A station name held by a live process.
    let held = d.join("held.img");
    let mut live = flash(&t, &db.url(), &recipe, &key, "st1", &[&held])
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
    flash(&t, &db.url(), &recipe, &key, "st1", &[&card])
        .status(2)
        .stderr_contains("station `st1` is in use by another live process")
        .stderr_lines(1)
        .absent(&card)
        .run();
    live.kill();
    live.wait();
    // The pool is empty for a card now: exit 6, and the card is not made.
    let c4 = d.join("c4.img");
    flash(&t, &db.url(), &recipe, &key, "st3", &[&c4])
        .status(6)
        .stderr_contains("the pool has no available identity left")
        .stderr_lines(2)
        .absent(&c4)
        .run();
    // Its death frees the name (the server drops the session's lock).
    let start = std::time::Instant::now();
    loop {
        let out = t
            .cmd()
            .args(["pool", "status", "--db", &db.url()])
            .run()
            .stdout;
        if out.contains("station st1 (not running") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "st1 still live: {out}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // A schema newer than the binary.
    pg.psql(
        "line",
        "UPDATE burnline_meta SET value = '7' WHERE key = 'schema_version'",
    );
    flash(&t, &db.url(), &recipe, &key, "st2", &[&card])
        .status(2)
        .stderr_contains("schema version 7 is newer than this burnline knows (4)")
        .stderr_lines(1)
        .absent(&card)
        .run();
    t.cmd()
        .args(["pool", "init", "--db", &db.url(), "--key-file", s(&key)])
        .status(2)
        .stderr_contains("newer")
        .run();
}

#[test]
fn eight_stations_two_thousand_identities_sigkilled_and_restarted() {
    let pg = Postgres::start();
    pg.createdb("line");
    let t = Test::new();
    let d = t.path().to_path_buf();
    let n = 2000;
    let (recipe, csv) = tiny(&d, n);
    let db = Db::Pg(&pg, "line".into());
    let key = make_pool(&t, &db, &recipe, &csv);
    let cards = d.join("cards");
    let report = run_line(
        &t,
        &db,
        &recipe,
        &key,
        &cards,
        &Line {
            stations: 8,
            per_run: 12,
            kills: 24,
            seed: 0x5eed_0008,
            limit: Duration::from_secs(300),
        },
    );
    assert!(report.killed > 0, "no station was killed");
    let states = check_line(&db, &cards, n);
    eprintln!("{} runs, {} killed: {states:?}", report.runs, report.killed);
    assert!(states.get("verified").copied().unwrap_or(0) >= n - report.killed * 12);
    // The history's chains, written by parallel stations killed at random,
    // are intact, and replay to every identity's state.
    t.cmd()
        .args(["pool", "verify", "--db", &db.url()])
        .stdout_contains(format!("{n} identit(ies)"))
        .stdout_contains("every chain intact")
        .run();
    // Every station left a row, and none is live now.
    let out = t
        .cmd()
        .args(["pool", "status", "--db", &db.url()])
        .run()
        .stdout;
    for st in 0..8 {
        assert!(
            out.contains(&format!("station st{st} (not running")),
            "{out}"
        );
    }
}

#[test]
fn the_server_stopped_under_running_stations() {
    let pg = Postgres::start();
    pg.createdb("line");
    let t = Test::new();
    let d = t.path().to_path_buf();
    let n = 600;
    let (recipe, csv) = tiny(&d, n);
    let db = Db::Pg(&pg, "line".into());
    let key = make_pool(&t, &db, &recipe, &csv);
    let cards = d.join("cards");
    std::fs::create_dir_all(&cards).expect("cards");
    let mut runs = Vec::new();
    for st in 0..2 {
        let targets: Vec<std::path::PathBuf> = (0..150)
            .map(|k| cards.join(format!("st{st}-{k}.img")))
            .collect();
        let refs: Vec<&Path> = targets.iter().map(|p| p.as_path()).collect();
        // Each station flashes its 150 cards one after the other (a run of
        // one card at a time, so the server stops between and during them).
        let mut c = t.cmd().program("sh");
        let mut script = String::from("set -e\n");
        for tg in &refs {
            script.push_str(&format!(
                "{} flash --pool '{}' --recipe {} --station st{st} --key-file {} --target {}\n",
                s(&common::burnline_bin()),
                db.url(),
                s(&recipe),
                s(&key),
                s(tg)
            ));
        }
        c = c.args(["-c", &script]).any_status();
        runs.push(c.spawn());
    }
    // Let some cards be verified, then stop the server under them.
    let start = std::time::Instant::now();
    while db.rows("SELECT count(*) FROM identities WHERE state='verified'")[0][0]
        .parse::<u64>()
        .expect("count")
        < 10
    {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no card was verified"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    pg.stop();
    for r in runs {
        let out = r.wait_within(Duration::from_secs(60));
        assert_eq!(
            out.code(),
            Some(5),
            "a station did not stop with exit 5:\n{}",
            out.stderr
        );
        let last = out.stderr.lines().last().unwrap_or_default().to_owned();
        eprintln!("a station stopped with: {last}");
        assert!(
            last.contains("lost the pool database")
                || last.contains("cannot reach the pool database"),
            "not a clear error: {last}"
        );
    }
    pg.start_again();
    // Nothing is on a card without a recorded lease: every card that holds
    // an identity is that identity's recorded target.
    let rows =
        db.rows("SELECT device_name, state, target FROM identities WHERE state <> 'available'");
    let recorded: std::collections::HashMap<String, (String, String)> = rows
        .into_iter()
        .map(|r| (r[2].clone(), (r[0].clone(), r[1].clone())))
        .collect();
    for e in std::fs::read_dir(&cards).expect("cards").flatten() {
        let bytes = std::fs::read(e.path()).expect("card");
        let holds = bytes.windows(3).any(|w| w == b"gw-");
        let p = std::fs::canonicalize(e.path()).expect("canon");
        if holds {
            let (dn, _) = recorded.get(s(&p)).unwrap_or_else(|| {
                panic!("{} holds an identity with no recorded lease", p.display())
            });
            assert!(
                bytes.windows(dn.len()).any(|w| w == dn.as_bytes()),
                "{} holds another identity than its lease's {dn}",
                p.display()
            );
        }
    }
}

#[test]
fn the_history_is_chained_a_dba_s_edits_show_and_version_1_migrates() {
    let pg = Postgres::start();
    pg.createdb("line");
    let t = Test::new();
    let db = Db::Pg(&pg, "line".into());
    pool_chain::normal_line(&t, &db);
    let copy = |name: &str| {
        pg.psql("postgres", &format!("CREATE DATABASE {name} TEMPLATE line"));
        Db::Pg(&pg, name.to_owned())
    };
    pool_chain::tampering_shows(&t, &db, &copy);
    pg.createdb("v1");
    pool_chain::a_version_1_pool_is_chained_by_its_migration(&t, &Db::Pg(&pg, "v1".into()));
}
