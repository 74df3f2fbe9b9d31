//! The pool's read API that `station report` is built on, on SQLite and on
//! a real PostgreSQL (`tests/common/postgres.rs`): after a normal line
//! (`common::pool_chain::normal_line`: a card killed after `written`,
//! quarantined, released and flashed again), `Pool::history` gives each
//! row's typed `State` in order and `Pool::digests` every recorded digest,
//! both matching what the database's own client reads; `station report`
//! shows that identity's two cards with the API's digest; and no host
//! source outside the pool crate reaches its SQL layer.

mod common;

use burnline_pool::{Pool, PoolUrl, State};
use common::pool_chain::{normal_line, DN};
use common::pool_line::Db;
use common::postgres::Postgres;
use common::Test;

fn report_api_matches_the_tables(t: &Test, db: &Db<'_>) {
    normal_line(t, db);
    let url: PoolUrl = db.url().parse().expect("a pool URL");
    let pool = Pool::open(&url, None).expect("open the pool");

    let history = pool.history().expect("history");
    let ours: Vec<State> = history
        .iter()
        .filter(|h| h.device_name == DN)
        .map(|h| h.to)
        .collect();
    use State::*;
    assert_eq!(
        ours,
        [
            Available,
            Leased,
            Written,
            Quarantined,
            Available,
            Leased,
            Written,
            Verified
        ],
        "{DN}'s history, typed"
    );
    let client: Vec<String> = db
        .rows("SELECT to_state FROM history ORDER BY seq")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    let api: Vec<String> = history.iter().map(|h| h.to.to_string()).collect();
    assert_eq!(api, client, "every history row's state, in order");

    let digests = pool.digests().expect("digests");
    let api: Vec<Vec<String>> = digests
        .iter()
        .map(|d| {
            vec![
                d.product_key.clone(),
                d.device_name.clone(),
                d.digest.clone(),
            ]
        })
        .collect();
    let client = db.rows(
        "SELECT product_key, device_name, digest FROM identities \
         WHERE digest IS NOT NULL ORDER BY product_key, device_name",
    );
    assert_eq!(api, client, "every recorded digest");
    let ours = digests
        .iter()
        .find(|d| d.device_name == DN)
        .map(|d| d.digest.clone())
        .expect("the verified identity has a digest");
    drop(pool);

    // `station report`: DN's first card released, its second verified
    // with the digest the API gives.
    let out = t
        .cmd()
        .args(["station", "report", "--db", &db.url(), "--since", "0"])
        .run();
    let rows: Vec<&str> = out.stdout.lines().filter(|l| l.contains(DN)).collect();
    assert_eq!(rows.len(), 2, "{}", out.stdout);
    assert!(rows[0].contains(",released,"), "{}", rows[0]);
    assert!(rows[1].contains(",verified,"), "{}", rows[1]);
    assert!(rows[1].contains(&ours), "{}", rows[1]);
}

#[test]
fn the_report_api_on_sqlite() {
    let t = Test::new();
    let db = Db::Sqlite(t.path().join("pool.db"));
    report_api_matches_the_tables(&t, &db);
}

#[test]
fn the_report_api_on_postgres() {
    let pg = Postgres::start();
    pg.createdb("line");
    let t = Test::new();
    report_api_matches_the_tables(&t, &Db::Pg(&pg, "line".into()));
}

/// The SQL stays in the pool crate: no source of the host or another
/// crate names its driver layer or writes a query.
#[test]
fn no_sql_outside_the_pool_crate() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    let mut dirs = vec![root.join("src")];
    for e in std::fs::read_dir(root.join("crates")).expect("read crates/") {
        let p = e.expect("a directory entry").path();
        if !p.ends_with("burnline-pool") {
            dirs.push(p);
        }
    }
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(&dir).expect("read the source tree") {
            let p = e.expect("a directory entry").path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).expect("a source file");
                for (i, line) in text.lines().enumerate() {
                    if line.contains("burnline_pool::db") || line.contains("\"SELECT ") {
                        found.push(format!("{}:{}: {line}", p.display(), i + 1));
                    }
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "SQL outside burnline-pool:\n{}",
        found.join("\n")
    );
}
