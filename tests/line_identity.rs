//! One identity on one card (issue #22, points 1, 3, 4, 9, 10 and the
//! third of 12), on SQLite and on PostgreSQL: an identity goes back to the
//! pool only from a card that is provably the medium written (a second
//! loop file swapped into the same loop node is another medium, as is a
//! file renamed over a file target), in `flash --pool` and in the station
//! service; a card the pool has as verified on that very medium is never
//! written again (a second `flash`, the service's Retry of a held card),
//! nor is a card that holds an identity verified elsewhere (put back, or
//! copied); a row set back to `available` by hand is not leased; a station
//! leases only the kind of identity its recipe burns, and an import never
//! mixes kinds in one product; a registration refused for the whole
//! product stops the station (`flash --pool` and the service) and
//! quarantines nothing.

mod common;

use common::emulator::{write_products, Emulator, PK_OFF, PS_OFF};
use common::http::request;
use common::pool_line::{make_pool, pool_flash, tiny, Db};
use common::postgres::Postgres;
use common::slots::Slot;
use common::station::{api_slot, card, station_on};
use common::{s, Test, PK, PS};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn flash(t: &Test, db: &Db<'_>, recipe: &Path, key: &Path, targets: &[&str]) -> Test {
    std::fs::create_dir_all(t.path().join("work")).expect("work dir");
    let targets: Vec<&Path> = targets.iter().map(Path::new).collect();
    pool_flash(t, &db.url(), recipe, key, "st1", &targets)
        .args(["--work-dir", s(&t.path().join("work"))])
}

fn blank(t: &Test, name: &str, size: u64) -> PathBuf {
    card(t, name, size)
}

fn state(db: &Db<'_>, dn: &str) -> (String, String) {
    let r = db.rows(&format!(
        "SELECT state, coalesce(reason, '') FROM identities WHERE device_name = '{dn}'"
    ));
    (r[0][0].clone(), r[0][1].clone())
}

fn sha(p: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(p).expect("card")))
}

fn with_pg(f: impl FnOnce(&Db<'_>)) {
    let pg = Postgres::start();
    pg.createdb("line");
    f(&Db::Pg(&pg, "line".into()));
}

// Point 1, with `flash --pool`: a loop node is a reader slot. The same
// medium after a crash gives back an identity none of whose bytes it
// holds; a blank medium swapped in after `written` quarantines it (the
// old rule read the blank card and gave the identity to the next card);
// a file renamed over a file target is another medium too.
fn a_swapped_card_never_gets_a_reissued_identity(t: &Test, db: &Db<'_>, slot_no: u32) {
    let d = t.path().to_path_buf();
    let (recipe, csv) = tiny(&d, 6);
    let key = make_pool(t, db, &recipe, &csv);
    let slot = Slot::new(slot_no);
    let c1 = blank(t, "card1.img", 1 << 20);
    slot.insert(t, &c1, &[]);
    // Killed after the lease, before a byte: the same medium, read back,
    // holds none of it: back in the pool.
    flash(t, db, &recipe, &key, &[slot.path()])
        .env("FAILPOINTS", "pool-after-lease=return")
        .signal(6)
        .run();
    let a = d.join("a.img");
    flash(t, db, &recipe, &key, &[s(&a)])
        .stderr_contains("gw-00001 was leased")
        .stderr_contains("back in the pool")
        .run();
    let (st, why) = state(db, "gw-00001");
    assert_eq!(st, "verified", "given to a.img after it came back: {why}");

    // Killed after `written`; a blank card goes into the same reader.
    flash(t, db, &recipe, &key, &[slot.path()])
        .env("FAILPOINTS", "pool-after-written=return")
        .signal(6)
        .run();
    assert_eq!(state(db, "gw-00002").0, "written");
    slot.remove(t);
    let c2 = blank(t, "card2.img", 1 << 20);
    slot.insert(t, &c2, &[]);
    let b = d.join("b.img");
    flash(t, db, &recipe, &key, &[s(&b)])
        .stderr_contains("gw-00002 was written")
        .stderr_contains("quarantined")
        .stderr_contains("another medium")
        .run();
    let (st, why) = state(db, "gw-00002");
    assert_eq!(st, "quarantined", "{why}");
    assert!(
        why.contains("a1X2bEnP82z/gw-00002") && why.contains("diskseq="),
        "{why}"
    );
    assert!(
        std::fs::read(&c2).expect("card").iter().all(|b| *b == 0),
        "the swapped-in card was written"
    );
    assert_eq!(
        state(db, "gw-00003").0,
        "verified",
        "b.img got the next one"
    );

    // A file target: another file renamed over it is another medium.
    let f = d.join("f.img");
    flash(t, db, &recipe, &key, &[s(&f)])
        .env("FAILPOINTS", "pool-after-lease=return")
        .signal(6)
        .run();
    let other = blank(t, "other.img", 1 << 20);
    std::fs::rename(&other, &f).expect("swap the file");
    let g = d.join("g.img");
    flash(t, db, &recipe, &key, &[s(&g)])
        .stderr_contains("gw-00004 was leased")
        .stderr_contains("another medium")
        .run();
    assert_eq!(state(db, "gw-00004").0, "quarantined");
    let back = db.rows(
        "SELECT reason FROM history WHERE device_name = 'gw-00001' AND from_state = 'leased' AND to_state = 'available'",
    );
    assert!(
        back[0][0].contains("same medium (by its diskseq)"),
        "{back:?}"
    );
}

#[test]
fn a_swapped_card_never_gets_a_reissued_identity_sqlite() {
    let t = Test::new();
    let db = Db::Sqlite(t.path().join("pool.db"));
    a_swapped_card_never_gets_a_reissued_identity(&t, &db, 240);
}

#[test]
fn a_swapped_card_never_gets_a_reissued_identity_postgres() {
    let t = Test::new();
    with_pg(|db| a_swapped_card_never_gets_a_reissued_identity(&t, db, 241));
}

// Point 12 (third bullet): a card verified on this very medium, still in
// its reader, is recognised and never written again.
fn a_finished_card_is_not_written_again(t: &Test, db: &Db<'_>, slot_no: u32) {
    let d = t.path().to_path_buf();
    let (recipe, csv) = tiny(&d, 3);
    let key = make_pool(t, db, &recipe, &csv);
    let slot = Slot::new(slot_no);
    let c = blank(t, "card.img", 1 << 20);
    slot.insert(t, &c, &[]);
    flash(t, db, &recipe, &key, &[slot.path()])
        .stderr_contains("ok: a1X2bEnP82z/gw-00001")
        .run();
    let before = sha(&c);
    flash(t, db, &recipe, &key, &[slot.path()])
        .stderr_contains("ok: a1X2bEnP82z/gw-00001")
        .stderr_contains("already held it, verified: nothing was written")
        .run();
    assert_eq!(sha(&c), before, "the finished card was written again");
    assert_eq!(state(db, "gw-00002").0, "available");
    // Taken out and put back, the same card is a new medium to the
    // kernel, but it holds gw-00001, verified: it is read and refused.
    slot.remove(t);
    slot.insert(t, &c, &[]);
    flash(t, db, &recipe, &key, &[slot.path()])
        .status(3)
        .stderr_contains("the card holds a1X2bEnP82z/gw-00001, which the pool has as verified")
        .stderr_contains("nothing was written")
        .run();
    assert_eq!(sha(&c), before, "the finished card was written again");
    assert_eq!(state(db, "gw-00002").0, "available");
    // A copy of the finished card in a file: the same.
    let copy = d.join("copy.img");
    std::fs::copy(&c, &copy).expect("copy");
    flash(t, db, &recipe, &key, &[s(&copy)])
        .status(3)
        .stderr_contains("a1X2bEnP82z/gw-00001, which the pool has as verified")
        .run();
    assert_eq!(sha(&copy), before);
}

#[test]
fn a_finished_card_is_not_written_again_sqlite() {
    let t = Test::new();
    let db = Db::Sqlite(t.path().join("pool.db"));
    a_finished_card_is_not_written_again(&t, &db, 242);
}

#[test]
fn a_finished_card_is_not_written_again_postgres() {
    let t = Test::new();
    with_pg(|db| a_finished_card_is_not_written_again(&t, db, 243));
}

/// Waits until `sql` (one value) gives `want`.
#[track_caller]
fn wait_for(db: &Db<'_>, sql: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got = db.rows(sql);
        if got.first().and_then(|r| r.first()).map(String::as_str) == Some(want) {
            return;
        }
        assert!(Instant::now() < deadline, "{sql}: {got:?}, not {want}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

// Point 1 in the station service: its stale-lease settling quarantines
// the identity of a card swapped after `written`.
fn the_service_settles_a_swapped_card_by_medium(t: &Test, db: &Db<'_>, slot_no: u32) {
    let slot = Slot::new(slot_no);
    let st = station_on(t, &db.url(), &[slot.path()], 4, "");
    // Dies right after the card is written.
    let dying =
        st.t.cmd()
            .args(["station", "serve", "--config", s(&st.config)])
            .env("FAILPOINTS", "pool-after-written=return")
            .signal(6)
            .spawn();
    common::station::wait_listening(&st.addr);
    let c1 = card(t, "card-1.img", 16 << 20);
    slot.insert(t, &c1, &[]);
    dying.wait_within(Duration::from_secs(60));
    let first = db.rows("SELECT device_name FROM identities WHERE state = 'written'");
    assert_eq!(first.len(), 1, "{first:?}");
    let dn = first[0][0].clone();
    slot.remove(t);
    let c2 = card(t, "card-2.img", 16 << 20);
    slot.insert(t, &c2, &[]);
    let run = st.serve(0);
    wait_for(
        db,
        &format!("SELECT state FROM identities WHERE device_name = '{dn}'"),
        "quarantined",
    );
    let (_, why) = state(db, &dn);
    assert!(why.contains("another medium") && why.contains(&dn), "{why}");
    // The blank card was held (in the slot at start); Retry writes it.
    api_slot(&st.addr, 0, &["failed"], Duration::from_secs(20));
    let (status, body) = request(&st.addr, "POST", "/api/slots/1/retry", &[]);
    assert_eq!(status, 202, "{body}");
    let done = api_slot(&st.addr, 0, &["done", "failed"], Duration::from_secs(60));
    assert_eq!(done["state"], "done", "{done}");
    let on_card = done["device_name"].as_str().expect("name").to_owned();
    assert_ne!(on_card, dn);
    run.interrupt();
    run.wait_within(Duration::from_secs(60));
}

#[test]
fn the_service_settles_a_swapped_card_by_medium_sqlite() {
    let t = Test::new();
    let db = Db::Sqlite(t.path().join("pool.db"));
    the_service_settles_a_swapped_card_by_medium(&t, &db, 244);
}

#[test]
fn the_service_settles_a_swapped_card_by_medium_postgres() {
    let t = Test::new();
    with_pg(|db| the_service_settles_a_swapped_card_by_medium(&t, db, 245));
}

// Point 4: a verified row set back to `available` by hand is refused by
// the lease, which reads its chain in the same transaction.
fn a_row_set_available_by_hand_is_not_leased(t: &Test, db: &Db<'_>) {
    let d = t.path().to_path_buf();
    let (recipe, csv) = tiny(&d, 3);
    let key = make_pool(t, db, &recipe, &csv);
    let a = d.join("a.img");
    flash(t, db, &recipe, &key, &[s(&a)]).run();
    db.rows(
        "UPDATE identities SET state = 'available', station = NULL, target = NULL, card = NULL, \
         lease_token = NULL WHERE device_name = 'gw-00001'",
    );
    let b = d.join("b.img");
    flash(t, db, &recipe, &key, &[s(&b)])
        .status(2)
        .stderr_contains("a1X2bEnP82z/gw-00001: not leased")
        .stderr_contains("but it is available")
        .absent(&b)
        .run();
    assert_eq!(state(db, "gw-00001").0, "available");
    assert_eq!(state(db, "gw-00002").0, "available");
    let leases = db.rows("SELECT count(*) FROM history WHERE to_state = 'leased'");
    assert_eq!(leases[0][0], "1", "only a.img's lease");
}

// Point 3: after a restart, a finished card left in its slot is held;
// Retry reads it, shows it done, and writes nothing.
fn retry_on_a_held_verified_card_writes_nothing(t: &Test, db: &Db<'_>, slot_no: u32) {
    let slot = Slot::new(slot_no);
    let st = station_on(t, &db.url(), &[slot.path()], 3, "");
    let run = st.serve(0);
    let c = card(t, "card.img", 16 << 20);
    slot.insert(t, &c, &[]);
    let done = api_slot(&st.addr, 0, &["done", "failed"], Duration::from_secs(60));
    assert_eq!(done["state"], "done", "{done}");
    run.interrupt();
    run.wait_within(Duration::from_secs(60));
    let before = sha(&c);
    let run = st.serve(0);
    let held = api_slot(&st.addr, 0, &["failed"], Duration::from_secs(20));
    assert_eq!(held["kind"], "held", "{held}");
    let (status, body) = request(&st.addr, "POST", "/api/slots/1/retry", &[]);
    assert_eq!(status, 202, "{body}");
    let again = api_slot(&st.addr, 0, &["done", "failed"], Duration::from_secs(60));
    assert_eq!(again["state"], "done", "{again}");
    assert_eq!(again["device_name"], done["device_name"], "{again}");
    run.interrupt();
    let out = run.wait_within(Duration::from_secs(60));
    assert!(out.stderr.contains("nothing was written"), "{}", out.stderr);
    assert_eq!(sha(&c), before, "the verified card was written again");
    assert_eq!(
        db.rows("SELECT count(*) FROM identities WHERE state = 'verified'")[0][0],
        "1"
    );
    assert_eq!(
        db.rows("SELECT count(*) FROM identities WHERE state = 'available'")[0][0],
        "2"
    );
}

#[test]
fn retry_on_a_held_verified_card_writes_nothing_sqlite() {
    let t = Test::new();
    let db = Db::Sqlite(t.path().join("pool.db"));
    retry_on_a_held_verified_card_writes_nothing(&t, &db, 236);
}

#[test]
fn retry_on_a_held_verified_card_writes_nothing_postgres() {
    let t = Test::new();
    with_pg(|db| retry_on_a_held_verified_card_writes_nothing(&t, db, 237));
}

#[test]
fn a_row_set_available_by_hand_is_not_leased_sqlite() {
    let t = Test::new();
    let db = Db::Sqlite(t.path().join("pool.db"));
    a_row_set_available_by_hand_is_not_leased(&t, &db);
}

#[test]
fn a_row_set_available_by_hand_is_not_leased_postgres() {
    let t = Test::new();
    with_pg(|db| a_row_set_available_by_hand_is_not_leased(&t, db));
}

/// A tiny 一型一密 recipe (`register: device`) for ProductKey `pk`.
fn product_secret_recipe(dir: &Path, pk: &str) -> PathBuf {
    let p = dir.join("ps.yaml");
    std::fs::write(
        &p,
        format!(
            "disk: {{size: 256KiB, table: gpt, alignment: 4KiB, seed: 0123456789abcdef0123456789abcdef}}\n\
             partitions:\n  - {{name: creds, size: fill, credentials: {{}}}}\n\
             auth: {{mode: product-secret, product_key: {pk}, product_secret: {{env: TEST_PRODUCT_SECRET}}, register: device}}\n"
        ),
    )
    .expect("recipe");
    p
}

// Point 9: a station leases only the kind its recipe burns, and an import
// never mixes the kinds of one product.
fn only_the_kind_the_recipe_burns_is_leased(t: &Test, db: &Db<'_>) {
    let d = t.path().to_path_buf();
    let (recipe, csv) = tiny(&d, 2);
    let key = make_pool(t, db, &recipe, &csv);
    let ps = product_secret_recipe(&d, "a1X2bEnP82z");
    // A 一型一密 station finds nothing it can burn.
    let a = d.join("a.img");
    flash(t, db, &ps, &key, &[s(&a)])
        .env("TEST_PRODUCT_SECRET", PS)
        .status(6)
        .absent(&a)
        .run();
    assert_eq!(state(db, "gw-00001").0, "available");
    // Names only, for the same product: refused, nothing imported.
    let names = d.join("names.csv");
    std::fs::write(&names, "DeviceName\nps-00001\n").expect("csv");
    t.cmd()
        .args(["pool", "import", "--db", &db.url(), s(&ps), "--devices"])
        .args([s(&names), "--key-file", s(&key)])
        .env("TEST_PRODUCT_SECRET", PS)
        .status(2)
        .stderr_contains("one product's identities are all of one kind")
        .run();
    // A list with DeviceSecrets for a 一型一密 recipe: refused, by line.
    t.cmd()
        .args(["pool", "import", "--db", &db.url(), s(&ps), "--devices"])
        .args([s(&csv), "--key-file", s(&key)])
        .env("TEST_PRODUCT_SECRET", PS)
        .status(2)
        .stderr_contains(format!("{}:1", csv.display()))
        .stderr_contains("the CSV gives DeviceSecrets")
        .run();
    assert_eq!(db.rows("SELECT count(*) FROM identities")[0][0], "2");
    // The reverse: 一型一密 identities of another product are not leased by
    // a 一机一密 station of that product.
    let other = product_secret_recipe(&d, PK_OFF);
    let off = d.join("off.csv");
    std::fs::write(&off, "DeviceName\noff1\n").expect("csv");
    t.cmd()
        .args(["pool", "import", "--db", &db.url(), s(&other), "--devices"])
        .args([s(&off), "--key-file", s(&key)])
        .env("TEST_PRODUCT_SECRET", PS_OFF)
        .run();
    let ds_off = d.join("ds-off.yaml");
    std::fs::write(
        &ds_off,
        format!(
            "disk: {{size: 256KiB, table: gpt, alignment: 4KiB, seed: 0123456789abcdef0123456789abcdef}}\n\
             partitions:\n  - {{name: creds, size: fill, credentials: {{}}}}\n\
             auth: {{mode: device-secret, product_key: {PK_OFF}}}\n"
        ),
    )
    .expect("recipe");
    let b = d.join("b.img");
    flash(t, db, &ds_off, &key, &[s(&b)])
        .status(6)
        .absent(&b)
        .run();
    assert_eq!(state(db, "off1").0, "available");
    assert_eq!(
        db.rows("SELECT kind FROM identities WHERE device_name = 'gw-00001'")[0][0],
        "device-secret"
    );
    assert_eq!(
        db.rows("SELECT kind FROM identities WHERE device_name = 'off1'")[0][0],
        "product-secret"
    );
}

#[test]
fn only_the_kind_the_recipe_burns_is_leased_sqlite() {
    let t = Test::new();
    let db = Db::Sqlite(t.path().join("pool.db"));
    only_the_kind_the_recipe_burns_is_leased(&t, &db);
}

#[test]
fn only_the_kind_the_recipe_burns_is_leased_postgres() {
    let t = Test::new();
    with_pg(|db| only_the_kind_the_recipe_burns_is_leased(&t, db));
}

/// A tiny `register: host` recipe for `pk` at the emulator `url`.
fn host_recipe(dir: &Path, name: &str, pk: &str, url: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(
        &p,
        format!(
            "disk: {{size: 256KiB, table: gpt, alignment: 4KiB, seed: 0123456789abcdef0123456789abcdef}}\n\
             partitions:\n  - {{name: creds, size: fill, credentials: {{}}}}\n\
             auth: {{mode: product-secret, product_key: {pk}, product_secret: {{env: TEST_PRODUCT_SECRET}}, register: host, endpoint: \"{url}\"}}\n"
        ),
    )
    .expect("recipe");
    p
}

// Point 10: 6288 (dynamic registration off) and 6600 (a wrong
// ProductSecret) stop the station and quarantine nothing; a refusal of one
// device quarantines it, named.
fn a_refusal_of_the_product_stops_the_station(t: &Test, db: &Db<'_>) {
    let d = t.path().to_path_buf();
    let products = write_products(&d, &["gw-00001", "gw-00002"]);
    let emu = Emulator::start(&d, &products, &[]);
    let key = d.join("pool.key");
    t.cmd()
        .args(["pool", "init", "--db", &db.url(), "--key-file", s(&key)])
        .run();
    let off = host_recipe(&d, "off.yaml", PK_OFF, &emu.url);
    let on = host_recipe(&d, "on.yaml", PK, &emu.url);
    let import = |recipe: &Path, csv: &str, secret: &str| {
        let p = d.join(format!("{}.csv", recipe.display()));
        std::fs::write(&p, csv).expect("csv");
        t.cmd()
            .args(["pool", "import", "--db", &db.url(), s(recipe), "--devices"])
            .args([s(&p), "--key-file", s(&key)])
            .env("TEST_PRODUCT_SECRET", secret)
            .run();
    };
    import(&off, "DeviceName\noff1\noff2\noff3\n", PS_OFF);
    import(&on, "DeviceName\ngw-00009\ngw-00001\ngw-00002\n", PS);
    let targets: Vec<PathBuf> = (1..=3).map(|i| d.join(format!("t{i}.img"))).collect();
    let names: Vec<&str> = targets.iter().map(|p| s(p)).collect();
    // 6288: switched off for the product.
    let mut c = flash(t, db, &off, &key, &names)
        .env("TEST_PRODUCT_SECRET", PS_OFF)
        .status(3)
        .stderr_contains("code 6288")
        .stderr_contains("the station stops, no identity was quarantined");
    for p in &targets {
        c = c.absent(p);
    }
    c.run();
    // 6600: a wrong ProductSecret.
    flash(t, db, &on, &key, &names)
        .env("TEST_PRODUCT_SECRET", PS_OFF)
        .status(3)
        .stderr_contains("code 6600")
        .stderr_contains("the station stops, no identity was quarantined")
        .run();
    assert_eq!(
        db.rows("SELECT count(*) FROM identities WHERE state <> 'available'")[0][0],
        "0",
        "nothing set aside for a refusal of the product"
    );
    // One device refused: it alone is quarantined, by its name.
    flash(t, db, &on, &key, &[s(&targets[0])])
        .env("TEST_PRODUCT_SECRET", PS)
        .status(3)
        .stderr_contains("a1X2bEnP82z/gw-00009 is quarantined")
        .run();
    let (st, why) = state(db, "gw-00009");
    assert_eq!(st, "quarantined");
    assert!(why.contains("gw-00009"), "{why}");
    assert_eq!(
        db.rows("SELECT count(*) FROM identities WHERE state = 'quarantined'")[0][0],
        "1"
    );
}

#[test]
fn a_refusal_of_the_product_stops_the_station_sqlite() {
    let t = Test::new();
    let db = Db::Sqlite(t.path().join("pool.db"));
    a_refusal_of_the_product_stops_the_station(&t, &db);
}

#[test]
fn a_refusal_of_the_product_stops_the_station_postgres() {
    let t = Test::new();
    with_pg(|db| a_refusal_of_the_product_stops_the_station(&t, db));
}

// Point 10 in the station service: a refusal of the whole product stops
// the station (the slot and the page say why), the next card is refused
// untouched, and nothing is quarantined.
fn the_service_stops_on_a_refusal_of_the_product(t: &Test, db: &Db<'_>, first_slot: u32) {
    let d = t.path().to_path_buf();
    let products = write_products(&d, &["gw-00001"]);
    let emu = Emulator::start(&d, &products, &[]);
    let recipe = host_recipe(&d, "off.yaml", PK_OFF, &emu.url);
    let key = d.join("pool.key");
    t.cmd()
        .args(["pool", "init", "--db", &db.url(), "--key-file", s(&key)])
        .run();
    let names = d.join("names.csv");
    std::fs::write(&names, "DeviceName\noff1\noff2\noff3\n").expect("csv");
    t.cmd()
        .args(["pool", "import", "--db", &db.url(), s(&recipe), "--devices"])
        .args([s(&names), "--key-file", s(&key)])
        .env("TEST_PRODUCT_SECRET", PS_OFF)
        .run();
    let slots: Vec<Slot> = (first_slot..first_slot + 2).map(Slot::new).collect();
    let addr = format!("127.0.0.1:{}", common::station::free_port());
    let config = d.join("station.yaml");
    std::fs::write(
        &config,
        format!(
            "recipe: {}\npool: '{}'\nkey_file: {}\nstation: line1-st1\nwork_dir: work\nlisten: {addr}\n\
             utc_offset: '+08:00'\nslots:\n  - path: {}\n  - path: {}\n",
            s(&recipe),
            db.url(),
            s(&key),
            slots[0].path(),
            slots[1].path()
        ),
    )
    .expect("config");
    let run = t
        .cmd()
        .args(["station", "serve", "--config", s(&config)])
        .env("TEST_PRODUCT_SECRET", PS_OFF)
        .spawn();
    common::station::wait_listening(&addr);
    let c1 = card(t, "card-1.img", 1 << 20);
    slots[0].insert(t, &c1, &[]);
    let failed = api_slot(&addr, 0, &["failed", "done"], Duration::from_secs(60));
    let reason = failed["reason"].as_str().expect("reason");
    assert!(
        reason.contains("code 6288") && reason.contains("the station stops"),
        "{failed}"
    );
    // The page's words for it: the station stopped, not a lost database.
    assert_eq!(failed["kind"], "stopped", "{failed}");
    let c2 = card(t, "card-2.img", 1 << 20);
    slots[1].insert(t, &c2, &[]);
    let refused = api_slot(&addr, 1, &["failed", "done"], Duration::from_secs(60));
    assert!(
        refused["reason"]
            .as_str()
            .is_some_and(|r| r.contains("the station has stopped")),
        "{refused}"
    );
    assert_eq!(refused["kind"], "stopped", "{refused}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let pool = common::http::get_json(&addr, "/api/pool");
        if pool["error"]
            .as_str()
            .is_some_and(|e| e.contains("the station has stopped"))
        {
            assert_eq!(pool["kind"], "stopped", "{pool}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the page does not say it: {pool}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for c in [&c1, &c2] {
        assert!(
            std::fs::read(c).expect("card").iter().all(|b| *b == 0),
            "{} was written",
            c.display()
        );
    }
    assert_eq!(
        db.rows("SELECT count(*) FROM identities WHERE state <> 'available'")[0][0],
        "0",
        "nothing set aside"
    );
    run.interrupt();
    run.wait_within(Duration::from_secs(60));
}

#[test]
fn the_service_stops_on_a_refusal_of_the_product_sqlite() {
    let t = Test::new();
    let db = Db::Sqlite(t.path().join("pool.db"));
    the_service_stops_on_a_refusal_of_the_product(&t, &db, 246);
}

#[test]
fn the_service_stops_on_a_refusal_of_the_product_postgres() {
    let t = Test::new();
    with_pg(|db| the_service_stops_on_a_refusal_of_the_product(&t, db, 248));
}

// Point 12, third bullet, in the service: a finished card that seems to
// leave its slot for a moment (its size read as 0, as a failed probe once
// did) and comes back is the same medium (the same `diskseq`): it shows
// done and is not written again.
fn a_finished_card_that_vanishes_for_a_moment_is_not_written_again(
    t: &Test,
    db: &Db<'_>,
    slot_no: u32,
) {
    let slot = Slot::new(slot_no);
    let st = station_on(t, &db.url(), &[slot.path()], 3, "");
    let run = st.serve(0);
    let c = card(t, "card.img", 16 << 20);
    slot.insert(t, &c, &[]);
    let done = api_slot(&st.addr, 0, &["done", "failed"], Duration::from_secs(60));
    assert_eq!(done["state"], "done", "{done}");
    let bytes = std::fs::read(&c).expect("card");
    // Size 0 for a moment, then the same bytes back in the same medium.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&c)
        .and_then(|f| f.set_len(0))
        .expect("cut");
    t.tool("losetup").args(["-c", slot.path()]).run();
    api_slot(&st.addr, 0, &["empty"], Duration::from_secs(20));
    {
        use std::os::unix::fs::FileExt;
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&c)
            .expect("card");
        f.write_all_at(&bytes, 0).expect("put back");
    }
    t.tool("losetup").args(["-c", slot.path()]).run();
    let again = api_slot(&st.addr, 0, &["done", "failed"], Duration::from_secs(60));
    assert_eq!(again["state"], "done", "{again}");
    assert_eq!(again["device_name"], done["device_name"], "{again}");
    run.interrupt();
    let out = run.wait_within(Duration::from_secs(60));
    assert!(out.stderr.contains("nothing was written"), "{}", out.stderr);
    assert!(std::fs::read(&c).expect("card") == bytes, "written again");
    assert_eq!(
        db.rows("SELECT count(*) FROM identities WHERE state = 'available'")[0][0],
        "2"
    );
}

#[test]
fn a_finished_card_that_vanishes_for_a_moment_is_not_written_again_sqlite() {
    let t = Test::new();
    let db = Db::Sqlite(t.path().join("pool.db"));
    a_finished_card_that_vanishes_for_a_moment_is_not_written_again(&t, &db, 238);
}

#[test]
fn a_finished_card_that_vanishes_for_a_moment_is_not_written_again_postgres() {
    let t = Test::new();
    with_pg(|db| a_finished_card_that_vanishes_for_a_moment_is_not_written_again(&t, db, 239));
}
