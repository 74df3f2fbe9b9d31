//! The station service and bad input: every case is said on the page (read
//! in Chromium) and in the log, nothing is written, and the service keeps
//! running: a slot path that is not a block device, a slot that names the
//! system disk, a card with a mounted file system, a write-protected card,
//! an empty pool; a card already in its slot at start is held until Retry;
//! a token guards the API; a broken `station.yaml` stops it at once with
//! the file, line and field.

mod common;

use common::chromium::Browser;
use common::http::{events, get_json, request};
use common::slots::Slot;
use common::station::*;
use common::*;
use std::time::Duration;

/// The whole disk the running system's root file system is on, by the
/// field's tools (`findmnt`, `lsblk`).
fn system_disk(t: &Test) -> String {
    let src = t
        .tool("findmnt")
        .args(["-n", "-o", "SOURCE", "/"])
        .run()
        .stdout
        .trim()
        .to_owned();
    let parent = t
        .tool("lsblk")
        .args(["-n", "-o", "PKNAME", &src])
        .run()
        .stdout
        .trim()
        .to_owned();
    if parent.is_empty() {
        src
    } else {
        format!("/dev/{parent}")
    }
}

#[test]
fn bad_slots_and_cards_are_refused_and_nothing_is_written() {
    let t = Test::new();
    let notblock = t.path().join("notblock.img");
    std::fs::write(&notblock, vec![0x5a; 1 << 20]).expect("file");
    let sysdisk = system_disk(&t);
    let (ro, mounted) = (Slot::new(210), Slot::new(211));
    // A card with a mounted file system, in its slot before the start.
    let fs = card(&t, "mounted.img", 16 << 20);
    t.tool("mkfs.ext4").args(["-q", "-F"]).arg(&fs).run();
    mounted.insert(&t, &fs, &[]);
    let mnt = t.path().join("mnt");
    std::fs::create_dir(&mnt).expect("mnt");
    t.tool("mount").args([mounted.path(), s(&mnt)]).run();
    let st = station(
        &t,
        &[s(&notblock), &sysdisk, ro.path(), mounted.path()],
        3,
        "",
    );
    let run =
        st.t.cmd()
            .args(["station", "serve", "--config", s(&st.config)])
            .stderr_contains("is a regular file, not a block device")
            .stderr_contains("is the disk the running system is on")
            .stderr_contains("is mounted on")
            .stderr_contains("write-protected")
            .spawn();
    wait_listening(&st.addr);
    let addr = st.addr.clone();
    for (i, kind) in [(0, "not_block"), (1, "system_disk"), (3, "in_use")] {
        let got = api_slot(&addr, i, &["failed"], Duration::from_secs(20));
        assert_eq!(got["kind"], kind, "{got}");
    }
    let ro_card = card(&t, "ro.img", 16 << 20);
    ro.insert(&t, &ro_card, &["-r"]);
    let got = api_slot(&addr, 2, &["failed"], Duration::from_secs(20));
    assert_eq!(got["kind"], "read_only", "{got}");

    let mut b = Browser::open(&format!("http://{addr}/"));
    let d = page_shows(&mut b, Duration::from_secs(20), |d| {
        states(d) == ["failed"; 4]
    });
    let text = |i: usize| d["slots"][i]["text"].as_str().expect("text").to_owned();
    // The service's own words only under the slot's "details".
    let raw = |i: usize| d["slots"][i]["raw"].as_str().expect("raw").to_owned();
    assert!(
        text(0).contains("卡槽路径不是块设备") && raw(0).contains("not a block device"),
        "{d}"
    );
    assert!(text(1).contains("系统所在的磁盘"), "{d}");
    assert!(text(2).contains("写保护"), "{d}");
    assert!(
        text(3).contains("已挂载") && raw(3).contains(s(&mnt)),
        "{d}"
    );
    assert_eq!(d["remaining"], "3");
    b.screenshot(&shots().join("bad-input.png"));
    drop(b);

    // Nothing was leased, and nothing was written.
    let pool = get_json(&addr, "/api/pool");
    assert_eq!(pool["remaining"], 3, "{pool}");
    run.interrupt();
    let out = run.wait_within(Duration::from_secs(30));
    assert!(!out.stderr.contains("done:"), "{}", out.stderr);
    assert!(std::fs::read(&notblock)
        .expect("file")
        .iter()
        .all(|b| *b == 0x5a));
    assert!(std::fs::read(&ro_card)
        .expect("card")
        .iter()
        .all(|b| *b == 0));
    // The mounted card still holds its file system (no partition table of
    // ours at its start, and e2fsck finds it clean).
    t.tool("umount").arg(&mnt).run();
    let head = std::fs::read(&fs).expect("card");
    assert_ne!(&head[512..520], b"EFI PART");
    t.tool("e2fsck").args(["-n", "-f"]).arg(&fs).run();
}

#[test]
fn an_empty_pool_is_said_and_nothing_is_written() {
    let t = Test::new();
    let slot = Slot::new(213);
    let st = station(&t, &[slot.path()], 0, "");
    let run = st.serve(0);
    let addr = st.addr.clone();
    let c = card(&t, "card.img", 16 << 20);
    slot.insert(&t, &c, &[]);
    let s = api_slot(&addr, 0, &["failed"], Duration::from_secs(20));
    assert_eq!(s["kind"], "pool_empty", "{s}");
    let mut b = Browser::open(&format!("http://{addr}/"));
    let d = page_shows(&mut b, Duration::from_secs(20), |d| {
        d["pool_error"]
            .as_str()
            .is_some_and(|e| e.contains("身份池已用完"))
    });
    assert_eq!(d["remaining"], "0");
    assert!(
        d["slots"][0]["text"]
            .as_str()
            .expect("text")
            .contains("身份池已用完"),
        "{d}"
    );
    drop(b);
    // Still serving.
    assert_eq!(get_json(&addr, "/api/pool")["remaining"], 0);
    run.interrupt();
    let out = run.wait_within(Duration::from_secs(30));
    assert!(out.stderr.contains("no identities left"), "{}", out.stderr);
    assert!(std::fs::read(&c).expect("card").iter().all(|b| *b == 0));
}

#[test]
fn a_card_in_its_slot_at_start_is_held_until_retry_and_a_done_card_is_not_retried() {
    let t = Test::new();
    let slot = Slot::new(214);
    let c = card(&t, "card.img", 16 << 20);
    slot.insert(&t, &c, &[]);
    let st = station(&t, &[slot.path()], 2, "");
    let run = st.serve(0);
    let addr = st.addr.clone();
    let s = api_slot(&addr, 0, &["failed"], Duration::from_secs(20));
    assert_eq!(s["kind"], "held", "{s}");
    std::thread::sleep(Duration::from_millis(600));
    assert!(
        std::fs::read(&c).expect("card").iter().all(|b| *b == 0),
        "a held card was written"
    );
    let (status, body) = request(&addr, "POST", "/api/slots/1/retry", &[]);
    assert_eq!(status, 202, "{body}");
    let s = api_slot(&addr, 0, &["done"], Duration::from_secs(30));
    assert_eq!(s["device_name"], "gw-0001", "{s}");
    let (status, body) = request(&addr, "POST", "/api/slots/1/retry", &[]);
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("not written again"), "{body}");
    let (status, _) = request(&addr, "POST", "/api/slots/9/retry", &[]);
    assert_eq!(status, 404);
    run.interrupt();
    run.wait_within(Duration::from_secs(30));
}

#[test]
fn the_api_needs_the_token_when_one_is_set() {
    let t = Test::new().file("token", "0123456789abcdef0123\n");
    std::fs::set_permissions(
        t.path().join("token"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .expect("chmod 600");
    let st = station(&t, &["/dev/loop215"], 1, "token_file: token\n");
    let run = st.serve(0);
    let addr = st.addr.clone();
    let (status, body) = request(&addr, "GET", "/api/slots", &[]);
    assert_eq!(status, 401, "{body}");
    let (status, _) = request(
        &addr,
        "GET",
        "/api/slots",
        &[("Authorization", "Bearer wrong-token-0000000")],
    );
    assert_eq!(status, 401);
    let (status, body) = request(
        &addr,
        "GET",
        "/api/slots",
        &[("Authorization", "Bearer 0123456789abcdef0123")],
    );
    assert_eq!(status, 200, "{body}");
    let (status, _) = request(&addr, "POST", "/api/slots/1/retry", &[]);
    assert_eq!(status, 401);
    // The page itself holds no data and loads without it.
    let (status, page) = request(&addr, "GET", "/", &[]);
    assert_eq!(status, 200);
    assert!(page.contains("token-form"), "{page}");
    // The event stream takes it in the query (EventSource sends no headers).
    let ev = events(&addr, "/api/events?token=0123456789abcdef0123", 1);
    assert_eq!(ev[0]["slots"][0]["state"], "empty", "{ev:?}");
    let (status, _) = request(&addr, "GET", "/api/events", &[]);
    assert_eq!(status, 401);
    // The page asks for the token once, then shows the station.
    let mut b = Browser::open(&format!("http://{addr}/"));
    b.wait_for(
        "(document.getElementById('token-form') || { hidden: true }).hidden === false",
        Duration::from_secs(20),
        |v| v == true,
    );
    b.eval(
        "document.getElementById('token').value = '0123456789abcdef0123'; \
         document.getElementById('token-form').requestSubmit(); true",
    );
    let d = page_shows(&mut b, Duration::from_secs(20), |d| states(d) == ["empty"]);
    assert_eq!(d["remaining"], "1");
    assert_eq!(b.eval("document.getElementById('token-form').hidden"), true);
    drop(b);
    run.interrupt();
    run.wait_within(Duration::from_secs(30));
}

#[test]
fn a_broken_config_stops_at_once_with_its_line() {
    let t = Test::new().file(
        "station.yaml",
        "recipe: r.yaml\npool: mysql://x\nkey_file: k\nstation: st\nwork_dir: w\nlisten: 0.0.0.0:8080\nslots:\n  - path: sdb\n",
    );
    t.cmd()
        .args(["station", "serve", "--config", "station.yaml"])
        .status(2)
        .error_line("station.yaml:2:7: pool:")
        .error_line("station.yaml:6:9: listen: 0.0.0.0:8080 is not a loopback address")
        .error_line("station.yaml:8:11: slots[0].path: must be an absolute device path")
        .run();
    t.cmd()
        .args(["station", "serve", "--config", "missing.yaml"])
        .status(2)
        .error_line("missing.yaml: cannot read the station config")
        .run();
}
