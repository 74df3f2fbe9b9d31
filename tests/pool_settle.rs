//! `pool settle` on SQLite and on a real PostgreSQL: stations SIGKILLed
//! mid-run, one after `written` and one after `leased` (held there by a
//! failpoint's sleep, so the kill lands on an open lease), then
//! `pool settle --station` quarantines exactly that station's open leases
//! (each with a history row naming the reason and who settled it), leaves
//! every other station's alone, shows no open lease for it in
//! `pool status`, does nothing the second time, and is refused (exit 2)
//! while a live process holds the name, or for a name the pool never saw.

mod common;

use common::pool_line::{make_pool, tiny, Db};
use common::postgres::Postgres;
use common::{s, Running, Test};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A station flashing one card, held at the failpoint `at` for a minute.
fn held_station(
    t: &Test,
    db: &Db<'_>,
    recipe: &Path,
    key: &Path,
    st: &str,
    card: &Path,
    at: &str,
) -> Running {
    t.cmd()
        .args(["flash", "--pool", &db.url(), "--recipe", s(recipe)])
        .args(["--station", st, "--key-file", s(key), "--target", s(card)])
        .env("FAILPOINTS", format!("{at}=sleep(60000)"))
        .any_status()
        .spawn()
}

/// Waits until station `st` has an identity in `state`.
fn wait_for(db: &Db<'_>, st: &str, state: &str) {
    let start = Instant::now();
    loop {
        let n = db.rows(&format!(
            "SELECT count(*) FROM identities WHERE station = '{st}' AND state = '{state}'"
        ))[0][0]
            .clone();
        if n == "1" {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "station {st} never reached {state}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn settle(t: &Test, db: &Db<'_>, key: &Path, st: &str) -> Test {
    t.cmd()
        .args(["pool", "settle", "--db", &db.url(), "--key-file", s(key)])
        .args([
            "--station",
            st,
            "--reason",
            "station died, its cards are lost",
        ])
}

fn settles_a_dead_stations_leases(db: &Db<'_>, t: &Test) {
    let d = t.path().to_path_buf();
    let (recipe, csv) = tiny(&d, 8);
    let key = make_pool(t, db, &recipe, &csv);
    let card = |n: &str| -> PathBuf { d.join(format!("{n}.img")) };
    // st1 verifies one card, then dies holding a written one.
    t.cmd()
        .args(["flash", "--pool", &db.url(), "--recipe", s(&recipe)])
        .args([
            "--station",
            "st1",
            "--key-file",
            s(&key),
            "--target",
            s(&card("a")),
        ])
        .stderr_contains("ok: a1X2bEnP82z/gw-00001")
        .run();
    let mut st1 = held_station(
        t,
        db,
        &recipe,
        &key,
        "st1",
        &card("b"),
        "pool-after-written",
    );
    wait_for(db, "st1", "written");
    // st2 dies holding a leased one.
    let mut st2 = held_station(t, db, &recipe, &key, "st2", &card("c"), "pool-after-lease");
    wait_for(db, "st2", "leased");
    // While st1 is live, settling it is refused and changes nothing.
    settle(t, db, &key, "st1")
        .status(2)
        .stderr_lines(1)
        .stderr_contains("station `st1` is in use")
        .run();
    assert_eq!(
        db.rows("SELECT state FROM identities WHERE station = 'st1' ORDER BY id"),
        vec![vec!["verified".to_owned()], vec!["written".to_owned()]]
    );
    st1.kill();
    st2.kill();
    st1.wait();
    st2.wait();
    let history_before: usize = db.rows("SELECT count(*) FROM history")[0][0]
        .parse()
        .expect("count");
    settle(t, db, &key, "st1")
        .stderr_contains("gw-00002 (written, on ")
        .stderr_contains("station st1: 1 open lease(s) quarantined")
        .run();
    // Exactly st1's open lease: its verified card stays verified, st2's
    // lease stays open (st2 settles it when it starts again).
    assert_eq!(
        db.rows("SELECT device_name, station, state FROM identities WHERE station IS NOT NULL ORDER BY id"),
        vec![
            vec!["gw-00001".to_owned(), "st1".into(), "verified".into()],
            vec!["gw-00002".to_owned(), "st1".into(), "quarantined".into()],
            vec!["gw-00003".to_owned(), "st2".into(), "leased".into()],
        ]
    );
    assert_eq!(
        db.rows("SELECT count(*) FROM history")[0][0],
        (history_before + 1).to_string(),
        "one history row per settled lease"
    );
    let h = db.rows(
        "SELECT device_name, from_state, to_state, station, reason FROM history \
         WHERE seq = (SELECT max(seq) FROM history)",
    );
    assert_eq!(h.len(), 1, "one history row: {h:?}");
    assert_eq!(h[0][..4], ["gw-00002", "written", "quarantined", "st1"]);
    assert!(h[0][4].starts_with("settled by "), "{}", h[0][4]);
    assert!(
        h[0][4].contains("station died, its cards are lost"),
        "{}",
        h[0][4]
    );
    // pool status: st1 has no open lease.
    let status = t
        .cmd()
        .args(["pool", "status", "--json", "--db", &db.url()])
        .run()
        .stdout;
    let v: serde_json::Value = serde_json::from_str(&status).expect("status json");
    let st1 = v["stations"]
        .as_array()
        .expect("stations")
        .iter()
        .find(|x| x["name"] == "st1")
        .expect("st1 in status");
    assert_eq!(st1["live"], false);
    assert_eq!(st1["identities"]["quarantined"], 1);
    assert!(st1["identities"].get("leased").is_none(), "{st1}");
    assert!(st1["identities"].get("written").is_none(), "{st1}");
    // Again: nothing is open, nothing changes.
    settle(t, db, &key, "st1")
        .stderr_contains("station st1: 0 open lease(s) quarantined")
        .run();
    assert_eq!(
        db.rows("SELECT count(*) FROM history")[0][0],
        (history_before + 1).to_string()
    );
    // The settled quarantine is chained like every other change.
    t.cmd()
        .args(["pool", "verify", "--db", &db.url()])
        .stdout_contains("every chain intact")
        .run();
    // A name the pool never saw is refused.
    settle(t, db, &key, "st9")
        .status(2)
        .stderr_lines(1)
        .stderr_contains("not known to this pool")
        .run();
    // st2 settled too; a station named st1 starts afresh with nothing
    // stale, and settling did not keep the name.
    settle(t, db, &key, "st2")
        .stderr_contains("station st2: 1 open lease(s) quarantined")
        .run();
    t.cmd()
        .args(["flash", "--pool", &db.url(), "--recipe", s(&recipe)])
        .args([
            "--station",
            "st1",
            "--key-file",
            s(&key),
            "--target",
            s(&card("d")),
        ])
        .stderr_contains("ok: a1X2bEnP82z/gw-00004")
        .stderr_lacks("was written")
        .run();
}

#[test]
fn settle_on_sqlite() {
    let t = Test::new();
    let db = Db::Sqlite(t.path().join("pool.db"));
    settles_a_dead_stations_leases(&db, &t);
}

#[test]
fn settle_on_postgres() {
    let pg = Postgres::start();
    pg.createdb("line");
    let t = Test::new();
    let db = Db::Pg(&pg, "line".into());
    settles_a_dead_stations_leases(&db, &t);
}
