//! A line of stations against one pool, for the pool tests: the tiny
//! recipe (a 256 KiB GPT disk holding only a credentials partition, so
//! thousands of cards stay small), a CSV of `n` identities, a pool made and
//! filled through the CLI, a driver that runs station processes with fresh
//! file targets while SIGKILLing some at seeded random moments and
//! restarting them, and the end checks: every identity verified on exactly
//! one target or quarantined, none on two targets, none missing, and a
//! history that replays to each identity's state.

use super::{s, Running, Test};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where the pool lives, and how the test reads its tables (with the
/// database's own client: sqlite3 or psql).
pub enum Db<'a> {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A database on the test server.
    Pg(&'a super::postgres::Postgres, String),
}

impl Db<'_> {
    /// The pool URL.
    pub fn url(&self) -> String {
        match self {
            Db::Sqlite(p) => format!("sqlite:{}", p.display()),
            Db::Pg(pg, db) => pg.url(db),
        }
    }

    /// Rows of `sql`, fields split on `|`.
    pub fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        let text = match self {
            Db::Sqlite(p) => {
                let out = std::process::Command::new("sqlite3")
                    // A station may hold the write lock for a moment: wait
                    // for it as burnline does, rather than fail at once.
                    .args(["-batch", "-noheader", "-cmd", ".timeout 10000"])
                    .arg(p)
                    .arg(sql)
                    .output()
                    .expect("sqlite3 (apt-get install sqlite3)");
                assert!(
                    out.status.success(),
                    "sqlite3: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                String::from_utf8_lossy(&out.stdout).into_owned()
            }
            Db::Pg(pg, db) => pg.psql(db, sql),
        };
        text.lines()
            .filter(|l| !l.is_empty())
            .map(|l| l.split('|').map(str::to_owned).collect())
            .collect()
    }
}

/// `flash --pool URL --recipe RECIPE --station STATION --key-file KEY`
/// and a `--target` for each of `targets`, as arguments.
pub fn pool_flash_args(
    url: &str,
    recipe: &Path,
    key: &Path,
    station: &str,
    targets: &[&Path],
) -> Vec<String> {
    let mut a: Vec<String> = ["flash", "--pool", url, "--recipe", s(recipe)]
        .into_iter()
        .chain(["--station", station, "--key-file", s(key)])
        .map(str::to_owned)
        .collect();
    for tg in targets {
        a.extend(["--target".to_owned(), s(tg).to_owned()]);
    }
    a
}

/// [`pool_flash_args`], run in `t`.
pub fn pool_flash(
    t: &Test,
    url: &str,
    recipe: &Path,
    key: &Path,
    station: &str,
    targets: &[&Path],
) -> Test {
    t.cmd()
        .args(pool_flash_args(url, recipe, key, station, targets))
}

/// Writes the tiny recipe and a CSV of `n` identities into `dir`.
pub fn tiny(dir: &Path, n: usize) -> (PathBuf, PathBuf) {
    let rp = dir.join("tiny.yaml");
    std::fs::write(
        &rp,
        "disk: {size: 256KiB, table: gpt, alignment: 4KiB, seed: 0123456789abcdef0123456789abcdef}\n\
         partitions:\n  - {name: creds, size: fill, credentials: {}}\n\
         auth: {mode: device-secret, product_key: a1X2bEnP82z}\n",
    )
    .expect("recipe");
    let mut csv = String::from("DeviceName,DeviceSecret,ProductKey\n");
    for i in 1..=n {
        csv.push_str(&format!("gw-{i:05},{},a1X2bEnP82z\n", secret_of(i)));
    }
    let cp = dir.join("devices.csv");
    std::fs::write(&cp, csv).expect("csv");
    (rp, cp)
}

/// The DeviceSecret of identity `i` (32 characters, unique).
pub fn secret_of(i: usize) -> String {
    format!("Sx7qLmN8pRt5VwYz2Ab4Cd6Ef{i:07}")
}

/// `pool init` and `pool import` of `csv` for `recipe`; the key file.
pub fn make_pool(t: &Test, db: &Db<'_>, recipe: &Path, csv: &Path) -> PathBuf {
    let key = t.path().join("pool.key");
    t.cmd()
        .args(["pool", "init", "--db", &db.url(), "--key-file", s(&key)])
        .run();
    t.cmd()
        .args([
            "pool",
            "import",
            "--db",
            &db.url(),
            s(recipe),
            "--devices",
            s(csv),
        ])
        .args(["--key-file", s(&key)])
        .stderr_contains("added")
        .run();
    key
}

/// A small seeded generator (xorshift64*), so a failing run can be replayed.
pub struct Rng(u64);

impl Rng {
    /// Seeded.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// The next number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) % n.max(1)
    }
}

/// How a line run goes.
pub struct Line {
    /// Station processes at once.
    pub stations: usize,
    /// Targets per station run.
    pub per_run: usize,
    /// SIGKILLs at most.
    pub kills: usize,
    /// Seed of the kill schedule.
    pub seed: u64,
    /// Give up after this long.
    pub limit: Duration,
}

/// What a line run did.
pub struct LineReport {
    /// SIGKILLs sent to running stations.
    pub killed: usize,
    /// Station runs started.
    pub runs: usize,
}

/// Runs station processes until the pool is empty and every station has
/// settled its leases: each run flashes `per_run` fresh file targets; some
/// are SIGKILLed at random moments and their station restarted. Every run
/// that is not killed ends with 0 (all its cards verified) or 6 (the pool
/// ran out).
pub fn run_line(
    t: &Test,
    db: &Db<'_>,
    recipe: &Path,
    key: &Path,
    cards: &Path,
    line: &Line,
) -> LineReport {
    std::fs::create_dir_all(cards).expect("cards dir");
    let mut rng = Rng::new(line.seed);
    let mut running: Vec<Option<(Running, Instant, u64)>> =
        (0..line.stations).map(|_| None).collect();
    // A station is done once a run of it, started after the pool was seen
    // empty, ended with 6 (its stale leases settled at its start).
    let mut done = vec![false; line.stations];
    let mut run_no = 0usize;
    let mut killed = 0usize;
    let start = Instant::now();
    let work = t.path().join("work");
    std::fs::create_dir_all(&work).expect("work");
    loop {
        assert!(
            start.elapsed() < line.limit,
            "the line did not finish within {:?}",
            line.limit
        );
        let mut idle = true;
        for st in 0..line.stations {
            if let Some((r, began, kill_after)) = &mut running[st] {
                if r.has_ended() {
                    let (r, _, _) = running[st].take().expect("run");
                    let out = r.wait();
                    match out.code() {
                        Some(0) => {}
                        Some(6) => done[st] = true,
                        None => {}
                        Some(c) => panic!("station {st} exited {c}:\n{}", out.stderr),
                    }
                } else if began.elapsed() >= Duration::from_millis(*kill_after) {
                    r.kill();
                    killed += 1;
                    let (r, _, _) = running[st].take().expect("run");
                    let _ = r.wait();
                    done[st] = false;
                }
                idle = false;
                continue;
            }
            if done[st] {
                continue;
            }
            idle = false;
            run_no += 1;
            let mut c = t
                .cmd()
                .args(["flash", "--pool", &db.url(), "--recipe", s(recipe)])
                .args(["--station", &format!("st{st}"), "--key-file", s(key)])
                .args(["--work-dir", s(&work)])
                .any_status();
            for k in 0..line.per_run {
                c = c.args([
                    "--target",
                    s(&cards.join(format!("st{st}-r{run_no}-{k}.img"))),
                ]);
            }
            let kill_after = if killed < line.kills && rng.below(3) == 0 {
                20 + rng.below(300)
            } else {
                u64::MAX / 4
            };
            running[st] = Some((c.spawn(), Instant::now(), kill_after));
        }
        if idle {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    // Everyone saw the pool empty after settling; anything a station
    // handed back while another was finishing is picked up by a last
    // round.
    let left = db.rows(
        "SELECT count(*) FROM identities WHERE state <> 'verified' AND state <> 'quarantined'",
    );
    assert_eq!(
        left[0][0], "0",
        "identities left available, leased or written"
    );
    LineReport {
        killed,
        runs: run_no,
    }
}

/// The DeviceNames on a card file (the credential record names its device).
fn names_on(card: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let pat = b"gw-";
    let mut i = 0;
    while i + 8 <= card.len() {
        if &card[i..i + 3] == pat && card[i + 3..i + 8].iter().all(u8::is_ascii_digit) {
            out.push(String::from_utf8_lossy(&card[i..i + 8]).into_owned());
            i += 8;
        } else {
            i += 1;
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The end checks, `n` identities: every identity verified on exactly one
/// target (holding its image, by SHA-256) or quarantined; none on two
/// targets; none missing; the history replays to each state. Returns the
/// counts per state.
pub fn check_line(db: &Db<'_>, cards: &Path, n: usize) -> BTreeMap<String, usize> {
    let rows = db.rows("SELECT device_name, state, target, digest FROM identities ORDER BY id");
    assert_eq!(rows.len(), n, "identities missing from the pool");
    let mut states: BTreeMap<String, usize> = BTreeMap::new();
    // Which cards hold which names.
    let mut holders: HashMap<String, Vec<PathBuf>> = HashMap::new();
    let mut digest_of: HashMap<PathBuf, String> = HashMap::new();
    for e in std::fs::read_dir(cards).expect("cards").flatten() {
        let p = std::fs::canonicalize(e.path()).expect("canon");
        let bytes = std::fs::read(&p).expect("card");
        for name in names_on(&bytes) {
            holders.entry(name).or_default().push(p.clone());
        }
        digest_of.insert(p, format!("blake3:{}", blake3::hash(&bytes).to_hex()));
    }
    for (name, h) in &holders {
        assert!(h.len() <= 1, "{name} is on {} cards: {h:?}", h.len());
    }
    for r in &rows {
        let (dn, state, target, digest) = (&r[0], &r[1], &r[2], &r[3]);
        *states.entry(state.clone()).or_default() += 1;
        match state.as_str() {
            "verified" => {
                let on = holders
                    .get(dn)
                    .unwrap_or_else(|| panic!("{dn} verified but on no card"));
                assert_eq!(
                    on[0],
                    PathBuf::from(target),
                    "{dn} is not on its recorded target"
                );
                assert_eq!(
                    digest_of[&on[0]], *digest,
                    "{dn}: its card does not hold the recorded image"
                );
            }
            "quarantined" => {}
            other => panic!("{dn} is {other}, not verified or quarantined"),
        }
    }
    // The history replays to each identity's state.
    let hist = db.rows("SELECT device_name, from_state, to_state FROM history ORDER BY seq");
    let mut replay: HashMap<String, String> = HashMap::new();
    for h in &hist {
        let (dn, from, to) = (&h[0], &h[1], &h[2]);
        let cur = replay.get(dn).cloned().unwrap_or_default();
        assert_eq!(
            &cur, from,
            "{dn}: history goes {to} from {from:?}, but it was {cur:?}"
        );
        replay.insert(dn.clone(), to.clone());
    }
    for r in &rows {
        assert_eq!(
            replay.get(&r[0]),
            Some(&r[1]),
            "{}: history does not end in its state",
            r[0]
        );
    }
    states
}
