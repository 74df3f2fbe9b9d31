//! The station claim and the pool URL (issue 22, items 2, 8, 15, 19), on
//! SQLite and on a real PostgreSQL:
//!
//! - one database is one claim, whatever path reaches it (a symlink, a
//!   `./` path); a second name by hard link is refused outright;
//! - a station whose claim is lost (taken over, or run out while the
//!   database could not be reached) writes no further byte to its card
//!   and records nothing more;
//! - sessions ended by `pg_terminate_backend`, or a server restarted,
//!   while a station is held mid-write do not free its name: a second
//!   process of that name is refused, and the identity is on one card;
//! - a claim is taken over only once the holder is provably gone;
//! - the password is never printed (`user:pw@` with `/`, `?password=`),
//!   can come from `PGPASSWORD`, `~/.pgpass` or `passfile=`, and every
//!   address the driver connects to (`host`, `hostaddr`, each of a list)
//!   obeys the clear-text rule.

mod common;

use common::pool_line::{make_pool, pool_flash, secret_of, tiny, Db};
use common::postgres::{Postgres, PASSWORD};
use common::{Running, Test};
use std::path::Path;
use std::time::{Duration, Instant};

fn flash(t: &Test, url: &str, recipe: &Path, key: &Path, st: &str, card: &Path) -> Test {
    pool_flash(t, url, recipe, key, st, &[card])
}

/// A station flashing one card, held `ms` at the failpoint `at`.
fn held(t: &Test, url: &str, recipe: &Path, key: &Path, card: &Path, at: &str, ms: u64) -> Running {
    flash(t, url, recipe, key, "st1", card)
        .env("FAILPOINTS", format!("{at}=sleep({ms})"))
        .any_status()
        .spawn()
}

/// Waits until identity `dn` is in `state`.
fn wait_for(db: &Db<'_>, dn: &str, state: &str) {
    let start = Instant::now();
    while state_of(db, dn) != state {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{dn} never reached {state}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn state_of(db: &Db<'_>, dn: &str) -> String {
    db.rows(&format!(
        "SELECT state FROM identities WHERE device_name = '{dn}'"
    ))[0][0]
        .clone()
}

/// Whether `card` holds any of identity `i`'s bytes (its DeviceSecret).
fn holds(card: &Path, i: usize) -> bool {
    let sec = secret_of(i);
    std::fs::read(card).is_ok_and(|b| b.windows(sec.len()).any(|w| w == sec.as_bytes()))
}

#[test]
fn sqlite_one_claim_through_a_symlink_or_a_dot_path_and_no_second_name_by_hard_link() {
    let t = Test::new();
    let d = t.path().to_path_buf();
    let (recipe, csv) = tiny(&d, 4);
    let db = Db::Sqlite(d.join("pool.db"));
    let key = make_pool(&t, &db, &recipe, &csv);
    std::fs::create_dir(d.join("sub")).expect("mkdir");
    std::os::unix::fs::symlink(d.join("pool.db"), d.join("sub/link.db")).expect("symlink");
    let card1 = d.join("card1.img");
    let live = held(
        &t,
        &db.url(),
        &recipe,
        &key,
        &card1,
        "pool-after-lease",
        15000,
    );
    wait_for(&db, "gw-00001", "leased");
    let other = d.join("other.img");
    for url in [
        format!("sqlite:{}", d.join("sub/link.db").display()),
        "sqlite:./pool.db".to_owned(),
        format!("sqlite:{}/sub/../pool.db", d.display()),
    ] {
        flash(&t, &url, &recipe, &key, "st1", &other)
            .status(2)
            .stderr_contains("station `st1` is in use by another live process")
            .stderr_lines(1)
            .absent(&other)
            .run();
        t.cmd()
            .args(["pool", "status", "--db", &url])
            .stdout_contains("station st1 (live")
            .run();
    }
    // A hard link would be a second database to SQLite (its journal is
    // kept by name): refused, whatever the station.
    std::fs::hard_link(d.join("pool.db"), d.join("sub/hard.db")).expect("link");
    flash(
        &t,
        &format!("sqlite:{}", d.join("sub/hard.db").display()),
        &recipe,
        &key,
        "st1",
        &other,
    )
    .status(2)
    .stderr_contains("2 hard links")
    .stderr_lines(1)
    .absent(&other)
    .run();
    // The live station's lease was left alone; it finishes its card.
    assert_eq!(state_of(&db, "gw-00001"), "leased");
    std::fs::remove_file(d.join("sub/hard.db")).expect("unlink");
    live.wait();
    assert_eq!(state_of(&db, "gw-00001"), "verified");
    assert!(holds(&card1, 1));
    assert!(!other.exists());
}

#[test]
fn sqlite_a_station_whose_claim_is_taken_writes_no_byte_and_records_nothing() {
    let t = Test::new();
    let d = t.path().to_path_buf();
    let (recipe, csv) = tiny(&d, 4);
    let db = Db::Sqlite(d.join("pool.db"));
    let key = make_pool(&t, &db, &recipe, &csv);
    let card = d.join("card.img");
    let live = held(
        &t,
        &db.url(),
        &recipe,
        &key,
        &card,
        "pool-after-lease",
        10000,
    );
    wait_for(&db, "gw-00001", "leased");
    // Another holder's token in its place, as a takeover leaves it.
    db.rows("UPDATE stations SET claim_token = 'taken-over' WHERE name = 'st1'");
    let out = live.wait();
    assert_eq!(out.code(), Some(5), "{}", out.text());
    assert!(
        out.stderr.contains("station `st1` lost its claim"),
        "{}",
        out.text()
    );
    assert!(
        !holds(&card, 1),
        "a station without its claim wrote the identity"
    );
    // Nothing was recorded under the lost claim: the lease is as it was.
    assert_eq!(state_of(&db, "gw-00001"), "leased");
}

/// A pool on a fresh server, with `n` identities.
fn pg_pool(t: &Test, n: usize) -> (Postgres, std::path::PathBuf, std::path::PathBuf) {
    let pg = Postgres::start();
    pg.createdb("line");
    let (recipe, csv) = tiny(t.path(), n);
    let key = make_pool(t, &Db::Pg(&pg, "line".into()), &recipe, &csv);
    (pg, recipe, key)
}

#[test]
fn postgres_sessions_ended_or_a_restart_mid_write_do_not_free_the_name() {
    let t = Test::new();
    let d = t.path().to_path_buf();
    let (pg, recipe, key) = pg_pool(&t, 6);
    let db = Db::Pg(&pg, "line".into());
    let url = db.url();
    let mut n = 0;
    for (at, state, how) in [
        ("pool-after-lease", "leased", "terminate"),
        ("pool-after-written", "written", "terminate"),
        ("pool-after-lease", "leased", "restart"),
    ] {
        n += 1;
        let dn = format!("gw-{n:05}");
        let card = d.join(format!("held{n}.img"));
        let live = held(&t, &url, &recipe, &key, &card, at, 12000);
        wait_for(&db, &dn, state);
        if how == "terminate" {
            pg.psql(
                "line",
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'burnline'",
            );
        } else {
            pg.stop();
            pg.start_again();
        }
        // A second process of the name: refused, the card untouched.
        let second = d.join(format!("second{n}.img"));
        flash(&t, &url, &recipe, &key, "st1", &second)
            .status(2)
            .stderr_contains("station `st1` is in use by another live process")
            .absent(&second)
            .run();
        assert_eq!(state_of(&db, &dn), state, "{at}/{how}");
        t.cmd()
            .args(["pool", "status", "--db", &url])
            .stdout_contains("station st1 (live")
            .run();
        // The held station cannot record its card on its dead connection.
        let out = live.wait();
        assert_eq!(out.code(), Some(5), "{at}/{how}: {}", out.text());
        // Started again, it settles its own card: the identity was on it,
        // so it is set aside, never leased to a second card.
        let next = d.join(format!("next{n}.img"));
        flash(&t, &url, &recipe, &key, "st1", &next)
            .stderr_contains(format!("{dn} was"))
            .stderr_contains("quarantined")
            .run();
        assert_eq!(state_of(&db, &dn), "quarantined", "{at}/{how}");
        assert!(holds(&card, n));
        assert!(!holds(&next, n));
        // The restarted station's own card took the next identity.
        n += 1;
        assert!(holds(&next, n));
    }
}

#[test]
fn postgres_a_claim_that_ran_out_is_taken_over_and_its_old_holder_writes_nothing() {
    let t = Test::new();
    let d = t.path().to_path_buf();
    let (pg, recipe, key) = pg_pool(&t, 4);
    let db = Db::Pg(&pg, "line".into());
    let url = db.url();
    let card = d.join("card.img");
    let live = held(&t, &url, &recipe, &key, &card, "pool-after-lease", 30000);
    wait_for(&db, "gw-00001", "leased");
    // As if the holder ran on another PC: its death cannot be seen here.
    pg.psql("line", "UPDATE stations SET claim_boot = 'another PC'");
    let second = d.join("second.img");
    flash(&t, &url, &recipe, &key, "st1", &second)
        .status(2)
        .stderr_contains("in use by another live process")
        .run();
    // The database is gone for longer than a claim lasts.
    pg.stop();
    std::thread::sleep(Duration::from_secs(21));
    pg.start_again();
    // The claim ran out: a second process takes the name, finds the card
    // blank and burns the identity onto its own card.
    flash(&t, &url, &recipe, &key, "st1", &second)
        .stderr_contains("back in the pool")
        .run();
    assert!(holds(&second, 1));
    // The old holder, woken, writes no byte and records nothing.
    let out = live.wait();
    assert_eq!(out.code(), Some(5), "{}", out.text());
    assert!(out.stderr.contains("lost its claim"), "{}", out.text());
    assert!(!holds(&card, 1), "the identity on two cards");
    assert_eq!(state_of(&db, "gw-00001"), "verified");
}

#[test]
fn postgres_passwords_are_never_shown_and_need_not_be_on_the_command_line() {
    let t = Test::new();
    let d = t.path().to_path_buf();
    let (pg, recipe, key) = pg_pool(&t, 4);
    let pw = "Zq/9x:W#w";
    pg.psql("line", &format!("ALTER USER postgres PASSWORD '{pw}'"));
    let enc = "Zq%2F9x%3AW%23w";
    let base = format!("postgres://postgres@127.0.0.1:{}/line", pg.port);
    let card = d.join("card.img");
    let lacks = |c: Test| {
        c.output_lacks("Zq")
            .output_lacks("9x")
            .output_lacks(PASSWORD)
    };
    // Refused logins and an unreachable server: the URL shown without
    // any of its passwords.
    for (url, says) in [
        (
            format!("postgres://postgres:Zq/9x@127.0.0.1:{}/line", pg.port),
            "refused the login",
        ),
        (format!("{base}?password=Zq/9x"), "refused the login"),
        (
            "postgres://postgres:Zq/9x@127.0.0.1:1/line?password=Zq9x".to_owned(),
            "cannot reach",
        ),
    ] {
        lacks(t.cmd().args(["pool", "status", "--db", &url]))
            .fails()
            .stderr_contains(says)
            .stderr_contains("visible to every local user")
            .run();
        lacks(flash(&t, &url, &recipe, &key, "st1", &card))
            .fails()
            .stderr_contains(says)
            .absent(&card)
            .run();
    }
    // The password in the URL works, and the status header hides it.
    lacks(
        t.cmd()
            .args(["pool", "status", "--db", &format!("{base}?password={enc}")]),
    )
    .stdout_contains("password=***")
    .run();
    // PGPASSWORD.
    lacks(
        t.cmd()
            .args(["pool", "status", "--db", &base])
            .env("PGPASSWORD", pw),
    )
    .stderr_lacks("visible")
    .run();
    // ~/.pgpass, with libpq's escapes.
    let home = d.join("home");
    std::fs::create_dir(&home).expect("home");
    let line = format!("127.0.0.1:{}:line:postgres:Zq/9x\\:W#w\n", pg.port);
    let pgpass = home.join(".pgpass");
    std::fs::write(&pgpass, format!("*:*:other:*:nope\n{line}")).expect("pgpass");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    lacks(
        t.cmd()
            .args(["pool", "status", "--db", &base])
            .env("HOME", &home)
            .env_remove("PGPASSWORD"),
    )
    .run();
    // passfile=, and one others can read is refused (exit 2).
    let pf = d.join("pw");
    std::fs::write(&pf, &line).expect("passfile");
    std::fs::set_permissions(&pf, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let with_file = format!("{base}?passfile={}", pf.display());
    lacks(flash(&t, &with_file, &recipe, &key, "st1", &card))
        .env("HOME", "/nonexistent")
        .stderr_contains("gw-00001")
        .run();
    std::fs::set_permissions(&pf, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    lacks(t.cmd().args(["pool", "status", "--db", &with_file]))
        .status(2)
        .stderr_contains("mode 0640 lets others read it")
        .stderr_lines(1)
        .run();
    // No password from anywhere: no login.
    t.cmd()
        .args(["pool", "status", "--db", &base])
        .env("HOME", "/nonexistent")
        .env_remove("PGPASSWORD")
        .fails()
        .run();
}

#[test]
fn clear_text_is_refused_to_every_address_the_driver_connects_to() {
    let t = Test::new();
    for (url, says) in [
        (
            "postgres://u:Zq/9x@localhost/line?hostaddr=10.77.0.1",
            "hostaddr `10.77.0.1` is not a loopback address",
        ),
        (
            "postgres://u@/line?host=/run/postgresql&hostaddr=10.77.0.1",
            "hostaddr `10.77.0.1` is not a loopback address",
        ),
        (
            "postgres://u@localhost,db.example.com/line",
            "host `db.example.com` is not a loopback address",
        ),
        (
            "postgres://u@localhost/line?host=10.77.0.1",
            "host `10.77.0.1` is not a loopback address",
        ),
        (
            "postgres://u@localhost,127.0.0.1/line?hostaddr=127.0.0.1,10.77.0.1",
            "hostaddr `10.77.0.1` is not a loopback address",
        ),
    ] {
        t.cmd()
            .args(["pool", "status", "--db", url])
            .status(2)
            .stderr_contains(says)
            .output_lacks("Zq")
            .stderr_lines(1)
            .run();
    }
}
