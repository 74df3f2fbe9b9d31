//! `scripts/station-try.sh`, the station tried without hardware, run as
//! root as a person runs it: loop devices become its slots, a card goes in
//! each and is done (as `GET /api/slots` says); Ctrl-C stops it, and
//! afterwards no loop device holds one of its files and its temp directory
//! is gone. A try that cannot start (its address is taken) is cleaned up
//! the same way.

mod common;

use common::http::get_json;
use common::station::{api_slot, free_port, wait_listening};
use common::{burnline_bin, s, Test};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The script, from the source tree.
fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/station-try.sh")
}

/// The script with `slots` slots on `addr`, its temp files under `tmp`.
/// It starts with SIGINT at its default, as from a terminal: a test run
/// started in the background inherits SIGINT ignored, and bash can neither
/// trap nor reset a signal ignored when it started.
fn try_station(t: &Test, tmp: &Path, slots: &str, addr: &str) -> Test {
    std::fs::create_dir_all(tmp).expect("tmp");
    t.tool("env")
        .args(["--default-signal=INT", "bash"])
        .arg(script())
        .args(["--slots", slots, "--listen", addr, "--burnline"])
        .arg(burnline_bin())
        .env("TMPDIR", tmp)
}

/// The loop devices whose backing file is under `dir`.
fn loops_under(t: &Test, dir: &Path) -> Vec<String> {
    let out = t.tool("losetup").arg("-a").run();
    out.stdout
        .lines()
        .filter(|l| l.contains(s(dir)))
        .map(str::to_owned)
        .collect()
}

/// What is left in `dir`.
fn left_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect()
}

/// One test, so that two tries do not look for free loop devices at once.
#[test]
fn the_try_flow_writes_a_card_per_slot_and_cleans_up_on_ctrl_c() {
    a_busy_address_is_refused_and_cleaned_up();
    let t = Test::new();
    let tmp = t.path().join("tmp");
    let addr = format!("127.0.0.1:{}", free_port());
    let run = try_station(&t, &tmp, "2", &addr)
        .status(130)
        .stderr_contains(format!("open http://{addr}/"))
        .stderr_contains("loop devices detached")
        .spawn();
    wait_listening(&addr);
    for i in 0..2 {
        let slot = api_slot(&addr, i, &["done", "failed"], Duration::from_secs(120));
        assert_eq!(slot["state"], "done", "slot {}: {slot:#}", i + 1);
    }
    assert_eq!(
        get_json(&addr, "/api/slots").as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(
        loops_under(&t, &tmp).len(),
        2,
        "one card per slot, each on a loop device"
    );
    run.interrupt();
    run.wait_within(Duration::from_secs(120));
    assert_eq!(
        loops_under(&t, &tmp),
        Vec::<String>::new(),
        "a loop device still holds a file of the try"
    );
    assert_eq!(left_in(&tmp), Vec::<String>::new(), "temp files left");
    assert!(
        std::net::TcpStream::connect(&addr).is_err(),
        "the station still listens"
    );
}

/// A busy address: refused, and the slots it had found are let go.
fn a_busy_address_is_refused_and_cleaned_up() {
    let t = Test::new();
    let tmp = t.path().join("tmp");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    try_station(&t, &tmp, "1", &addr)
        .status(2)
        .stderr_contains(format!("{addr} is in use"))
        .stderr_contains("loop devices detached")
        .run_within(Duration::from_secs(120));
    assert_eq!(loops_under(&t, &tmp), Vec::<String>::new());
    assert_eq!(left_in(&tmp), Vec::<String>::new(), "temp files left");
}
