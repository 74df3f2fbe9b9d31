//! The station service on a PostgreSQL pool (a throwaway cluster, as the
//! pool tests start it): cards are burned from it; when the server goes
//! away the page and the log say the database is lost, a card put in then
//! is refused with nothing written, the service keeps running, and once the
//! server is back the station opens the pool again and Retry burns the
//! card.

mod common;

use common::chromium::Browser;
use common::http::{get_json, request};
use common::postgres::Postgres;
use common::slots::Slot;
use common::station::*;
use common::*;
use std::time::{Duration, Instant};

#[test]
fn a_lost_database_is_said_nothing_is_written_and_the_station_recovers() {
    let pg = Postgres::start();
    pg.createdb("line");
    let t = Test::new();
    let slots: Vec<Slot> = (220..223).map(Slot::new).collect();
    let paths: Vec<&str> = slots.iter().map(Slot::path).collect();
    let st = station_on(&t, &pg.url("line"), &paths, 8, "");
    let run = st.serve(0);
    let addr = st.addr.clone();

    // Six cards, three at a time.
    let cards: Vec<_> = (1..=7)
        .map(|i| card(&t, &format!("card-{i}.img"), 16 << 20))
        .collect();
    for round in 0..2 {
        for (k, slot) in slots.iter().enumerate() {
            slot.insert(&t, &cards[round * 3 + k], &[]);
        }
        for k in 0..3 {
            let s = api_slot(&addr, k, &["done", "failed"], Duration::from_secs(60));
            assert_eq!(s["state"], "done", "{s}");
        }
        for slot in &slots {
            slot.remove(&t);
        }
        for k in 0..3 {
            api_slot(&addr, k, &["empty"], Duration::from_secs(20));
        }
    }
    assert_eq!(get_json(&addr, "/api/pool")["remaining"], 2);

    // The server goes away.
    pg.stop();
    let deadline = Instant::now() + Duration::from_secs(30);
    let pool = loop {
        let p = get_json(&addr, "/api/pool");
        if p["error"].is_string() {
            break p;
        }
        assert!(Instant::now() < deadline, "the station never noticed: {p}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        pool["error"].as_str().expect("error").contains("pool"),
        "{pool}"
    );
    slots[0].insert(&t, &cards[6], &[]);
    let s = api_slot(&addr, 0, &["failed"], Duration::from_secs(30));
    assert_eq!(s["kind"], "pool_unavailable", "{s}");
    let mut b = Browser::open(&format!("http://{addr}/"));
    let d = page_shows(&mut b, Duration::from_secs(20), |d| {
        d["pool_error"]
            .as_str()
            .is_some_and(|e| e.contains("无法连接身份池数据库"))
    });
    assert!(
        d["slots"][0]["text"]
            .as_str()
            .expect("text")
            .contains("无法连接身份池数据库"),
        "{d}"
    );
    b.screenshot(&shots().join("lost-database.png"));
    assert!(
        std::fs::read(&cards[6])
            .expect("card")
            .iter()
            .all(|b| *b == 0),
        "written without a pool"
    );

    // Back: the station opens the pool again, and Retry burns the card.
    pg.start_again();
    let deadline = Instant::now() + Duration::from_secs(30);
    while get_json(&addr, "/api/pool")["remaining"] != 2 {
        assert!(
            Instant::now() < deadline,
            "the station never opened the pool again"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    page_shows(&mut b, Duration::from_secs(20), |d| {
        d["pool_error"] == "" && d["remaining"] == "2"
    });
    drop(b);
    let (status, body) = request(&addr, "POST", "/api/slots/1/retry", &[]);
    assert_eq!(status, 202, "{body}");
    let s = api_slot(&addr, 0, &["done", "failed"], Duration::from_secs(60));
    assert_eq!(s["state"], "done", "{s}");
    run.interrupt();
    let out = run.wait_within(Duration::from_secs(60));
    assert!(
        out.stderr.contains("lost the pool database") || out.stderr.contains("cannot reach"),
        "{}",
        out.stderr
    );
    let verified = pg.psql(
        "line",
        "SELECT count(*) FROM identities WHERE state = 'verified'",
    );
    assert_eq!(verified.trim(), "7");
}
