//! The station service's tests' parts: a station's files (a fixture
//! recipe, a real SQLite pool made with `pool init` and `pool import`, and
//! `station.yaml` listening on a free 127.0.0.1 port), the service started
//! through the builder (writes slowed through the `station-write-progress`
//! failpoint, so a pull lands mid-write), waits on the JSON API and on the
//! page's DOM (read in Chromium), card files, and where screenshots go.

use super::chromium::Browser;
use super::fixtures::fixture;
use super::http::get_json;
use super::{s, Running, Test};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Where screenshots go (kept after the test, for the README's).
pub fn shots() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("station-screenshots")
}

/// A free port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The page's state, read from its DOM. `said` is what the page says in
/// its own words (without the "details", the slot's path and the
/// DeviceName), `raw` what is under the "details".
pub const DOM: &str = r##"(document.body && document.body.dataset.ready === "true") ? JSON.stringify({
  ready: true,
  lang: document.documentElement.lang,
  slots: [...document.querySelectorAll(".slot")].map(e => ({
    id: e.dataset.slot, state: e.dataset.state, kind: e.dataset.kind || "", percent: Number(e.dataset.percent || 0), text: e.innerText,
    said: (c => { c.querySelectorAll("details, .path, .device-name").forEach(d => d.remove()); return c.textContent; })(e.cloneNode(true)),
    raw: [...e.querySelectorAll("details .raw")].map(d => d.textContent).join("\n"),
    border: getComputedStyle(e).borderTopColor })),
  errors_said: [...document.querySelectorAll("#errors li")].map(e => (c => { c.querySelectorAll("details").forEach(d => d.remove()); return c.textContent; })(e.cloneNode(true))),
  zone: (document.getElementById("zone") || {}).textContent || "",
  pass: Number(document.getElementById("pass").textContent),
  fail: Number(document.getElementById("fail").textContent),
  remaining: document.getElementById("remaining").textContent,
  pool_error: document.getElementById("pool-error").hidden ? "" : document.getElementById("pool-error").textContent,
  errors: [...document.querySelectorAll("#errors li")].map(e => e.textContent) }) : JSON.stringify({ ready: false })"##;

pub fn dom(b: &mut Browser) -> serde_json::Value {
    serde_json::from_str(b.eval(DOM).as_str().expect("a string")).expect("DOM JSON")
}

/// Waits until the page shows what `ok` wants, at most `limit`.
#[track_caller]
pub fn page_shows(
    b: &mut Browser,
    limit: Duration,
    ok: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + limit;
    loop {
        let d = dom(b);
        if d["ready"] == true && ok(&d) {
            return d;
        }
        assert!(
            Instant::now() < deadline,
            "the page never showed what the test waits for; it shows: {d:#}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn states(d: &serde_json::Value) -> Vec<String> {
    d["slots"]
        .as_array()
        .expect("slots")
        .iter()
        .map(|s| s["state"].as_str().unwrap_or("").to_owned())
        .collect()
}

/// Waits until the API says slot `i` (0-based) is in one of `want`.
#[track_caller]
pub fn api_slot(addr: &str, i: usize, want: &[&str], limit: Duration) -> serde_json::Value {
    let deadline = Instant::now() + limit;
    loop {
        let slots = get_json(addr, "/api/slots");
        let s = slots[i].clone();
        if want.iter().any(|w| s["state"] == *w) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "slot {} never got to {want:?}: {slots:#}",
            i + 1
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A station's files: recipe, pool, config; `slots` are its slot paths.
pub struct Station {
    /// Commands in the test's directory.
    pub t: Test,
    /// The pool's URL.
    pub db: String,
    /// The page's address.
    pub addr: String,
    /// `station.yaml`.
    pub config: PathBuf,
    /// Where labels go.
    pub labels: PathBuf,
}

/// A station on a SQLite pool in `t`'s directory, with `identities`
/// imported; `extra` is more YAML for `station.yaml`.
pub fn station(t: &Test, slots: &[&str], identities: usize, extra: &str) -> Station {
    let db = format!("sqlite:{}", s(&t.path().join("pool.db")));
    station_on(t, &db, slots, identities, extra)
}

/// A station on the pool at `db`.
pub fn station_on(t: &Test, db: &str, slots: &[&str], identities: usize, extra: &str) -> Station {
    let (recipe, devices) = fixture(t.path(), identities, "");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut yaml = format!(
        "recipe: {}\npool: '{db}'\nkey_file: pool.key\nstation: line1-st1\nwork_dir: work\nlisten: {addr}\nutc_offset: '+08:00'\n{extra}slots:\n",
        s(&recipe),
    );
    for p in slots {
        yaml.push_str(&format!("  - path: {p}\n"));
    }
    let config = t.path().join("station.yaml");
    std::fs::write(&config, yaml).expect("config");
    let db = db.to_owned();
    t.cmd()
        .args(["pool", "init", "--db", &db, "--key-file", "pool.key"])
        .run();
    if identities > 0 {
        t.cmd()
            .args([
                "pool",
                "import",
                "--db",
                &db,
                s(&recipe),
                "--devices",
                s(&devices),
                "--key-file",
                "pool.key",
            ])
            .run();
    }
    Station {
        t: t.cmd(),
        db,
        addr,
        config,
        labels: t.path().join("work/labels"),
    }
}

impl Station {
    /// Starts the service (writes slowed by `slow_ms` per MiB, through the
    /// `station-write-progress` failpoint) and waits for its API.
    pub fn serve(&self, slow_ms: u64) -> Running {
        let run = self
            .t
            .cmd()
            .args(["station", "serve", "--config", s(&self.config)])
            .env(
                "FAILPOINTS",
                format!("station-write-progress=sleep({slow_ms})"),
            )
            .spawn();
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(&self.addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "the station never listened on {}",
                self.addr
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        run
    }
}

/// Waits (at most a minute) until something listens on `addr`.
#[track_caller]
pub fn wait_listening(addr: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "the station never listened on {addr}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn card(t: &Test, name: &str, size: u64) -> PathBuf {
    let p = t.path().join(name);
    let f = std::fs::File::create(&p).expect("card");
    f.set_len(size).expect("size");
    p
}

/// Today at +08:00, `YYYY-MM-DD`.
pub fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs()
        + 8 * 3600;
    let o = std::process::Command::new("date")
        .args(["-u", "-d", &format!("@{secs}"), "+%F"])
        .output()
        .expect("date");
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}
