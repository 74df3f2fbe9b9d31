//! The pool history's hash chain, for the pool tests on either database:
//! a normal line (import, flash --pool a few file targets, a card killed
//! after `written` and so quarantined, a release, the identity flashed
//! again) verifies; then, on fresh copies of that pool, each change a DBA
//! can make once the append-only triggers are dropped (a row's reason
//! altered, a middle row deleted, the last row deleted, two rows' times or
//! ids swapped, an identity's state set by hand) is reported by
//! `pool verify` with its history row and DeviceName, exit 2.

use super::pool_line::{make_pool, pool_flash, tiny, Db};
use super::{s, Test};
use std::path::Path;

/// The identity that goes through every state in [`normal_line`].
pub const DN: &str = "gw-00003";

fn flash(t: &Test, db: &Db<'_>, recipe: &Path, key: &Path, target: &Path) -> Test {
    pool_flash(t, &db.url(), recipe, key, "st1", &[target])
}

/// Makes the pool and runs the line on it; `pool verify` passes.
pub fn normal_line(t: &Test, db: &Db<'_>) {
    let d = t.path().to_path_buf();
    let (recipe, csv) = tiny(&d, 5);
    let key = make_pool(t, db, &recipe, &csv);
    flash(t, db, &recipe, &key, &d.join("a.img")).run();
    flash(t, db, &recipe, &key, &d.join("b.img")).run();
    flash(t, db, &recipe, &key, &d.join("c1.img"))
        .env("FAILPOINTS", "pool-after-written=return")
        .signal(6)
        .run();
    flash(t, db, &recipe, &key, &d.join("c2.img"))
        .stderr_contains(format!("{DN} was written"))
        .stderr_contains("quarantined")
        .run();
    t.cmd()
        .args([
            "pool",
            "release",
            "--db",
            &db.url(),
            DN,
            "--reason",
            "c1 wiped",
        ])
        .run();
    flash(t, db, &recipe, &key, &d.join("c3.img"))
        .stderr_contains(format!("{DN} ->"))
        .run();
    // imported, leased, written, quarantined, available, leased, written,
    // verified.
    assert_eq!(seqs(db).len(), 8, "{DN}'s history");
    t.cmd()
        .args(["pool", "verify", "--db", &db.url()])
        .stdout_contains("ok: ")
        .stdout_contains("5 identit(ies), 21 history row(s), every chain intact")
        .run();
}

/// `DN`'s history rows, in order.
pub fn seqs(db: &Db<'_>) -> Vec<i64> {
    db.rows(&format!(
        "SELECT seq FROM history WHERE device_name = '{DN}' ORDER BY seq"
    ))
    .iter()
    .map(|r| r[0].parse().expect("seq"))
    .collect()
}

/// Drops the triggers that keep the history append-only, as a DBA could.
pub fn drop_triggers(db: &Db<'_>) {
    match db {
        Db::Sqlite(_) => db.rows("DROP TRIGGER history_no_update; DROP TRIGGER history_no_delete;"),
        Db::Pg(..) => db.rows("DROP TRIGGER history_append_only ON history;"),
    };
}

/// Each tampering, on a fresh copy of the normal line's pool made by
/// `copy(name)`: reported with the row, exit 2.
pub fn tampering_shows<'a>(t: &Test, line: &Db<'_>, copy: &dyn Fn(&str) -> Db<'a>) {
    let verify = |db: &Db<'_>, row: i64, why: &str| {
        t.cmd()
            .args(["pool", "verify", "--db", &db.url()])
            .status(2)
            .stderr_contains(format!(
                "the history's hash chain breaks: history row {row} (a1X2bEnP82z/{DN}): "
            ))
            .stderr_contains(why)
            .stderr_lines(1)
            .run();
    };
    let s = seqs(line);
    let n = s.len();

    let db = copy("reason");
    drop_triggers(&db);
    db.rows(&format!(
        "UPDATE history SET reason = 'read back and matched' WHERE seq = {}",
        s[2]
    ));
    verify(&db, s[2], "the row was altered");

    let db = copy("middle");
    drop_triggers(&db);
    db.rows(&format!("DELETE FROM history WHERE seq = {}", s[3]));
    verify(&db, s[4], "a row between them was removed");

    let db = copy("last");
    drop_triggers(&db);
    db.rows(&format!("DELETE FROM history WHERE seq = {}", s[n - 1]));
    verify(&db, s[n - 2], "rows after it were removed");

    // The import's time and the last row's (another process, later).
    let db = copy("times");
    drop_triggers(&db);
    let time =
        |seq: i64| db.rows(&format!("SELECT time FROM history WHERE seq = {seq}"))[0][0].clone();
    let (ta, tb) = (time(s[0]), time(s[n - 1]));
    assert_ne!(ta, tb);
    db.rows(&format!(
        "UPDATE history SET time = {tb} WHERE seq = {}; UPDATE history SET time = {ta} WHERE seq = {};",
        s[0],
        s[n - 1]
    ));
    verify(&db, s[0], "the row was altered");

    let db = copy("ids");
    drop_triggers(&db);
    db.rows(&format!(
        "UPDATE history SET seq = -1 WHERE seq = {a}; UPDATE history SET seq = {a} WHERE seq = {b}; \
         UPDATE history SET seq = {b} WHERE seq = -1;",
        a = s[1],
        b = s[2]
    ));
    verify(&db, s[1], "rows were reordered");

    // The identity's own row, which has no trigger: set back to available
    // (to be issued twice) without a history row.
    let db = copy("state");
    db.rows(&format!(
        "UPDATE identities SET state = 'available' WHERE device_name = '{DN}'"
    ));
    verify(&db, s[n - 1], "its state was changed outside burnline");
}

/// A pool of schema version 1 (before the chain), with one identity and
/// its three history rows, made with version 1's own SQL; `pool init`
/// migrates it and chains that history, which then verifies, keeps its
/// triggers, and shows an edit.
pub fn a_version_1_pool_is_chained_by_its_migration(t: &Test, db: &Db<'_>) {
    let v1 = &burnline_pool::schema::MIGRATIONS[0];
    assert_eq!(v1.version, 1);
    let (sql, triggers) = match db {
        Db::Sqlite(_) => (
            v1.sqlite,
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'",
        ),
        Db::Pg(..) => (
            v1.postgres,
            "SELECT count(*) FROM pg_trigger WHERE tgname = 'history_append_only'",
        ),
    };
    db.rows(burnline_pool::schema::META);
    db.rows(sql);
    db.rows(&format!(
        "INSERT INTO burnline_meta (key, value) VALUES ('schema_version', '1'); \
         INSERT INTO identities (product_key, device_name, state, station, target, card, imported_at, changed_at) \
         VALUES ('a1X2bEnP82z', '{DN}', 'written', 'st1', '/dev/sdz', 'file /dev/sdz', 1000, 3000); \
         INSERT INTO history (time, product_key, device_name, from_state, to_state, station, target, card, reason) VALUES \
         (1000, 'a1X2bEnP82z', '{DN}', NULL, 'available', NULL, NULL, NULL, 'imported'), \
         (2000, 'a1X2bEnP82z', '{DN}', 'available', 'leased', 'st1', '/dev/sdz', 'file /dev/sdz', 'leased'), \
         (3000, 'a1X2bEnP82z', '{DN}', 'leased', 'written', 'st1', '/dev/sdz', 'file /dev/sdz', 'written and synced');"
    ));
    let key = t.path().join("v1.key");
    t.cmd()
        .args(["pool", "verify", "--db", &db.url()])
        .status(2)
        .stderr_contains("schema version 1 is older")
        .stderr_lines(1)
        .run();
    t.cmd()
        .args(["pool", "init", "--db", &db.url(), "--key-file", s(&key)])
        .stderr_contains("schema version 1 -> 4")
        .run();
    // Migration 3 records the kind: imported without a DeviceSecret.
    assert_eq!(
        db.rows("SELECT kind FROM identities")[0][0],
        "product-secret"
    );
    t.cmd()
        .args(["pool", "verify", "--db", &db.url()])
        .stdout_contains("1 identit(ies), 3 history row(s), every chain intact")
        .run();
    let before = db.rows(triggers);
    drop_triggers(db);
    let s = seqs(db);
    db.rows(&format!(
        "UPDATE history SET card = 'file /dev/sdy' WHERE seq = {}",
        s[1]
    ));
    t.cmd()
        .args(["pool", "verify", "--db", &db.url()])
        .status(2)
        .stderr_contains(format!(
            "history row {} (a1X2bEnP82z/{DN}): its fields do not match its hash",
            s[1]
        ))
        .run();
    // The migration put the append-only triggers back.
    let n = if matches!(db, Db::Sqlite(_)) {
        "2"
    } else {
        "1"
    };
    assert_eq!(before, vec![vec![n.to_owned()]]);
}
