//! The station service against a hostile page, a hostile local user and a
//! connection flood, with loop devices as cards: a form or a script on
//! another site, or a DNS name rebound to 127.0.0.1, cannot make it write
//! a card, and no answer may be framed; the token rides in a query only to
//! the event stream, and a token file others may read is refused; half-open
//! connections under a lowered `RLIMIT_NOFILE` (set by `prlimit`) are
//! closed after 10 s and never take the descriptors the slots need, so a
//! done card is never seen as empty and written again, nor is one whose
//! slot cannot be looked at for a while; and links planted in a shared
//! label directory are never followed.

mod common;

use common::http::{events, get_json, request, send};
use common::slots::Slot;
use common::station::*;
use common::*;
use std::io::Read;
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

const TOKEN: &str = "0123456789abcdef0123";

fn chmod(path: &std::path::Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A POST of the retry of slot 1 with `host` and `headers` (each ending
/// in CRLF) and `body`.
fn retry(addr: &str, host: &str, headers: &str, body: &str) -> (u16, String, String) {
    let length = if body.is_empty() {
        String::new()
    } else {
        format!("Content-Length: {}\r\n", body.len())
    };
    send(
        addr,
        &format!(
            "POST /api/slots/1/retry HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{headers}{length}\r\n{body}"
        ),
    )
}

#[test]
fn a_form_or_script_of_another_site_or_a_rebound_name_cannot_write_a_held_card() {
    let t = Test::new();
    let slot = Slot::new(241);
    let c = card(&t, "card.img", 16 << 20);
    slot.insert(&t, &c, &[]);
    let st = station(&t, &[slot.path()], 2, "");
    let run = st.serve(0);
    let addr = st.addr.clone();
    let port = addr.rsplit_once(':').expect("port").1.to_owned();
    let held = api_slot(&addr, 0, &["failed"], Duration::from_secs(20));
    assert_eq!(held["kind"], "held", "{held}");

    let rebound = format!("evil.example:{port}");
    let (here, there) = (addr.as_str(), rebound.as_str());
    let evil_origin = format!("Origin: http://{rebound}\r\n");
    let cases: Vec<(&str, String, &str, u16, &str)> =
        vec![
        // <form method=post action=http://127.0.0.1:PORT/api/slots/1/retry>
        (
            here,
            "Origin: http://evil.example\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                .into(),
            "a=1",
            415,
            "JSON only",
        ),
        (
            here,
            "Origin: http://evil.example\r\nContent-Type: multipart/form-data; boundary=x\r\n"
                .into(),
            "--x--\r\n",
            415,
            "JSON only",
        ),
        // An old browser's form sends no Origin.
        (here, "Content-Type: text/plain\r\n".into(), "a", 415, "JSON only"),
        // fetch(url, {method: "POST", mode: "no-cors"}) from another site.
        (
            here,
            "Origin: http://evil.example\r\n".into(),
            "",
            403,
            "another site",
        ),
        (here, "Origin: null\r\n".into(), "", 403, "another site"),
        (
            here,
            "Sec-Fetch-Site: cross-site\r\n".into(),
            "",
            403,
            "another site",
        ),
        // A name the attacker's DNS first gave its own address, then 127.0.0.1:
        // to the browser the page and the station are one origin.
        (
            there,
            evil_origin.clone(),
            "",
            403,
            "answers only as http://127.0.0.1:",
        ),
        (
            there,
            format!("{evil_origin}Content-Type: application/json\r\n"),
            "{}",
            403,
            "answers only as",
        ),
    ];
    for (host, headers, body, want, why) in &cases {
        let (status, head, answer) = retry(&addr, host, headers, body);
        assert_eq!(
            status, *want,
            "Host {host}, {headers:?}, body {body:?}: {head}\n{answer}"
        );
        assert!(answer.contains(why), "{answer}");
        assert!(head.contains("x-frame-options: deny"), "{head}");
    }
    // A rebound name cannot read the station either.
    let (status, _, answer) = send(
        &addr,
        &format!("GET /api/slots HTTP/1.1\r\nHost: {rebound}\r\nConnection: close\r\n\r\n"),
    );
    assert_eq!(status, 403, "{answer}");

    // Nothing was leased or written.
    std::thread::sleep(Duration::from_millis(600));
    let s = get_json(&addr, "/api/slots");
    assert_eq!(s[0]["kind"], "held", "{s}");
    assert_eq!(get_json(&addr, "/api/pool")["remaining"], 2);
    assert!(
        std::fs::read(&c).expect("card").iter().all(|b| *b == 0),
        "a card was written by another site's request"
    );

    // Every answer forbids framing, the page's too.
    let (status, head, _) = send(
        &addr,
        &format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    );
    assert_eq!(status, 200);
    assert!(head.contains("x-frame-options: deny"), "{head}");
    let csp = head
        .lines()
        .find_map(|l| l.strip_prefix("content-security-policy: "))
        .unwrap_or_else(|| panic!("no CSP: {head}"));
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");

    // The station's own page (same origin, JSON) still retries, by any of
    // its loopback names.
    let (status, _, answer) = retry(
        &addr,
        &format!("localhost:{port}"),
        &format!(
            "Origin: http://localhost:{port}\r\nSec-Fetch-Site: same-origin\r\nContent-Type: application/json\r\n"
        ),
        "",
    );
    assert_eq!(status, 202, "{answer}");
    let s = api_slot(&addr, 0, &["done"], Duration::from_secs(60));
    assert_eq!(s["device_name"], "gw-0001", "{s}");
    run.interrupt();
    run.wait_within(Duration::from_secs(30));
}

#[test]
fn the_token_rides_in_a_query_only_to_the_event_stream_and_only_from_a_private_file() {
    let t = Test::new().file("token", format!("{TOKEN}\n"));
    let token = t.path().join("token");
    chmod(&token, 0o644);
    let st = station(
        &t,
        &["/dev/burnline-guard-no-card"],
        1,
        "token_file: token\n",
    );
    for mode in [0o644, 0o640] {
        chmod(&token, mode);
        st.t.cmd()
            .args(["station", "serve", "--config", s(&st.config)])
            .status(2)
            .error_line(format!(
                "token_file: mode {mode:04o} lets its group or others read the token; it must be 0600"
            ))
            .stderr_lacks(TOKEN)
            .run_within(Duration::from_secs(30));
    }
    chmod(&token, 0o600);
    let run = st.serve(0);
    let addr = st.addr.clone();
    let q = format!("?token={TOKEN}");
    for (method, path) in [
        ("GET", "/api/slots"),
        ("GET", "/api/pool"),
        ("POST", "/api/slots/1/retry"),
    ] {
        let (status, body) = request(&addr, method, &format!("{path}{q}"), &[]);
        assert_eq!(status, 401, "{method} {path}{q}: {body}");
    }
    let bearer = format!("Bearer {TOKEN}");
    let (status, body) = request(&addr, "GET", "/api/slots", &[("Authorization", &bearer)]);
    assert_eq!(status, 200, "{body}");
    let ev = events(&addr, &format!("/api/events{q}"), 1);
    assert_eq!(ev[0]["slots"][0]["state"], "empty", "{ev:?}");
    run.interrupt();
    run.wait_within(Duration::from_secs(30));
}

/// Starts `st`'s service with at most `nofile` descriptors.
fn serve_with_nofile(st: &Station, nofile: u32) -> Running {
    let run =
        st.t.tool("prlimit")
            .arg(format!("--nofile={nofile}:{nofile}"))
            .arg(burnline_bin())
            .args(["station", "serve", "--config", s(&st.config)])
            .env("FAILPOINTS", "station-write-progress=sleep(0)")
            .spawn();
    wait_listening(&st.addr);
    run
}

fn open_descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("the service's descriptors")
        .count()
}

#[test]
fn a_flood_of_half_open_connections_neither_empties_a_done_slot_nor_holds_the_page() {
    let t = Test::new();
    let slot = Slot::new(242);
    let st = station(&t, &[slot.path()], 2, "");
    let run = serve_with_nofile(&st, 128);
    let addr = st.addr.clone();
    let c = card(&t, "card.img", 16 << 20);
    slot.insert(&t, &c, &[]);
    let s = api_slot(&addr, 0, &["done"], Duration::from_secs(60));
    assert_eq!(s["device_name"], "gw-0001", "{s}");
    let written = std::fs::read(&c).expect("card");

    // Up to 400 connections that never finish a request head (half of them
    // send a part of one), until the listen queue is full: more than the
    // service's 128 descriptors.
    let target: std::net::SocketAddr = addr.parse().expect("address");
    let mut flood = Vec::new();
    for i in 0..400 {
        let Ok(mut s) = TcpStream::connect_timeout(&target, Duration::from_millis(500)) else {
            break;
        };
        if i % 2 == 0 {
            std::io::Write::write_all(&mut s, b"GET /api/slots HTTP/1.1\r\nHost: ")
                .expect("part of a head");
        }
        flood.push(s);
    }
    let flooded = flood.len();
    // Held for many polls of the slot.
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut most = 0;
    while Instant::now() < deadline {
        most = most.max(open_descriptors(run.id()));
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(flood);

    // The card is still done, and never written again.
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        let s = get_json(&addr, "/api/slots")[0].clone();
        assert_eq!(
            s["state"], "done",
            "the done card was seen anew after a flood of {flooded} connections: {s}"
        );
        assert_eq!(s["device_name"], "gw-0001", "{s}");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(get_json(&addr, "/api/pool")["remaining"], 1);
    assert!(
        std::fs::read(&c).expect("card") == written,
        "the done card was rewritten"
    );
    // More connections than the cap were made (the rest waited in the
    // listen queue until it was full), and the service never came near
    // its limit.
    assert!(flooded > 64, "only {flooded} connections were made");
    assert!(
        most < 100,
        "the service held {most} descriptors under a flood of {flooded} (cap 64 connections)"
    );

    // A connection that sends nothing is closed after the 10 s head timeout.
    let mut idle = TcpStream::connect(&addr).expect("connect");
    idle.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let started = Instant::now();
    let mut b = [0u8; 64];
    let got = idle.read(&mut b);
    let waited = started.elapsed();
    assert!(
        matches!(got, Ok(0))
            && waited >= Duration::from_secs(9)
            && waited < Duration::from_secs(15),
        "an idle connection: {got:?} after {waited:?}"
    );
    run.interrupt();
    let out = run.wait_within(Duration::from_secs(30));
    assert!(
        out.stderr.contains("(at most 64 connections at once)"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("gw-0002"), "{}", out.stderr);
    assert_eq!(
        out.stderr.matches("card inserted").count(),
        1,
        "{}",
        out.stderr
    );
}

#[test]
fn a_slot_that_cannot_be_looked_at_for_a_while_keeps_its_done_card() {
    let t = Test::new();
    let slot = Slot::new(243);
    // The slot's path is a link to the device, as /dev/disk/by-path names are.
    let link = t.path().join("slot-1");
    std::os::unix::fs::symlink(slot.path(), &link).expect("link");
    let st = station(&t, &[s(&link)], 2, "");
    let run = st.serve(0);
    let addr = st.addr.clone();
    let c = card(&t, "card.img", 16 << 20);
    slot.insert(&t, &c, &[]);
    let s = api_slot(&addr, 0, &["done"], Duration::from_secs(60));
    assert_eq!(s["device_name"], "gw-0001", "{s}");

    // For a second and a half the path cannot be resolved (a loop of
    // links: ELOOP, not "no such file"); then it names the card again.
    let other = t.path().join("slot-loop");
    std::os::unix::fs::symlink(&link, &other).expect("link");
    let tmp = t.path().join("slot-1.new");
    std::os::unix::fs::symlink(&other, &tmp).expect("link");
    std::fs::rename(&tmp, &link).expect("swap in the loop");
    std::thread::sleep(Duration::from_millis(1500));
    let s = get_json(&addr, "/api/slots");
    assert_eq!(s[0]["state"], "done", "{s}");
    std::os::unix::fs::symlink(slot.path(), &tmp).expect("link");
    std::fs::rename(&tmp, &link).expect("swap back");

    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        let s = get_json(&addr, "/api/slots");
        assert_eq!(s[0]["state"], "done", "{s}");
        assert_eq!(s[0]["device_name"], "gw-0001", "{s}");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(get_json(&addr, "/api/pool")["remaining"], 1);
    run.interrupt();
    let out = run.wait_within(Duration::from_secs(30));
    assert!(
        out.stderr
            .contains("slot 1: the slot cannot be looked at: looking at"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("gw-0002"), "{}", out.stderr);
}

#[test]
fn links_planted_in_a_shared_label_directory_are_never_followed() {
    let t = Test::new();
    let slot = Slot::new(244);
    let spool = t.path().join("spool");
    std::fs::create_dir(&spool).expect("spool");
    // Root-only files another user wants overwritten.
    let victims: Vec<_> = (0..4)
        .map(|i| {
            let v = t.path().join(format!("root-only-{i}"));
            std::fs::write(&v, format!("root only {i}\n")).expect("victim");
            chmod(&v, 0o600);
            v
        })
        .collect();
    let stem = "a1X2bEnP82z_gw-0001";
    // At the final names, and at the temp names an older burnline used.
    let planted = [
        format!("{stem}.png"),
        format!("{stem}.zpl"),
        format!(".{stem}.png.burnline-tmp"),
        format!(".{stem}.zpl.burnline-tmp"),
    ];
    for (name, victim) in planted.iter().zip(&victims) {
        std::os::unix::fs::symlink(victim, spool.join(name)).expect("plant");
    }
    let st = station(
        &t,
        &[slot.path()],
        1,
        &format!("labels:\n  dir: '{}'\n", s(&spool)),
    );
    let run = st.serve(0);
    let addr = st.addr.clone();
    let c = card(&t, "card.img", 16 << 20);
    slot.insert(&t, &c, &[]);
    let done = api_slot(&addr, 0, &["done"], Duration::from_secs(60));
    assert_eq!(done["device_name"], "gw-0001", "{done}");
    run.interrupt();
    let out = run.wait_within(Duration::from_secs(30));
    assert!(
        out.stderr
            .contains(&format!("label {}", s(&spool.join(format!("{stem}.png"))))),
        "{}",
        out.stderr
    );
    for (i, v) in victims.iter().enumerate() {
        assert!(
            std::fs::read(v).expect("victim") == format!("root only {i}\n").as_bytes(),
            "{} was written through a planted link",
            v.display()
        );
    }
    for ext in ["png", "zpl"] {
        let f = spool.join(format!("{stem}.{ext}"));
        let meta = std::fs::symlink_metadata(&f).expect("label");
        assert!(meta.is_file(), "{} is not a file of its own", f.display());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
    assert!(std::fs::read(spool.join(format!("{stem}.png")))
        .expect("png")
        .starts_with(b"\x89PNG"));
}
