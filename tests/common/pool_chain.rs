//! The pool history's hash chain, for the pool tests on either database:
//! a normal line (import, flash --pool a few file targets, a card killed
//! after `written` and so quarantined, a release, the identity flashed
//! again) verifies; then, on fresh copies of that pool, each change a DBA
//! can make once the append-only triggers are dropped (a row's reason
//! altered, a middle row deleted, the last row deleted, two rows' times or
//! ids swapped, an identity's state set by hand) is reported by
//! `pool verify` with its history row and DeviceName, exit 2.

use super::pool_line::{make_pool, tiny, Db};
use super::{s, Test};
use std::path::Path;

/// The identity that goes through every state in [`normal_line`].
pub const DN: &str = "gw-00003";

fn flash(t: &Test, db: &Db<'_>, recipe: &Path, key: &Path, target: &Path) -> Test {
    t.cmd()
        .args(["flash", "--pool", &db.url(), "--recipe", s(recipe)])
        .args([
            "--station",
            "st1",
            "--key-file",
            s(key),
            "--target",
            s(target),
        ])
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
