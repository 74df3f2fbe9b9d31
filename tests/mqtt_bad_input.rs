//! Hostile clients never stop the emulator or lose its state (real sockets
//! on 127.0.0.1 only, every loop bounded): malformed and oversized MQTT
//! packets, a CONNECT that never comes (closed after 10 s), 500 idle MQTT
//! connections, and 300 slow HTTP connections trickling bytes (issue 11,
//! item 15) while registrations still succeed; slow connections without a
//! whole request head are closed after 10 s.

mod common;

use common::emulator::{register, state_secrets, write_products};
use common::mqtt::{connect_packet, plain_credentials, MqttEmulator};
use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Whether the server closed `s` (EOF or reset) within `within`.
fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).expect("timeout");
    let mut b = [0u8; 64];
    loop {
        match s.read(&mut b) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) => {
                return !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                )
            }
        }
    }
}

/// A device still logs in: the emulator runs and kept its state.
fn still_serves(emu: &MqttEmulator, cid: &str, user: &str, pw: &str) {
    let mut s = TcpStream::connect(&emu.mqtt).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("t");
    s.write_all(&connect_packet(cid, user, pw, 60))
        .expect("send");
    let mut ack = [0u8; 4];
    s.read_exact(&mut ack).expect("CONNACK");
    assert_eq!(ack, [0x20, 0x02, 0x00, 0x00]);
}

#[test]
fn malformed_oversized_silent_and_idle_connections() {
    let t = Test::new();
    let products = write_products(t.path(), &["bad-0001"]);
    let state = t.path().join("state.json");
    let mut emu = MqttEmulator::start(t.path(), &products, None, &["--state", s(&state)]);
    let ds = register(&t, &emu.url, "bad-0001", &[]);
    let (cid, user, pw) = plain_credentials(&t, PK, "bad-0001", &ds);
    still_serves(&emu, &cid, &user, &pw);

    // Malformed packets: each closes its own connection, nothing else.
    let good = connect_packet(&cid, &user, &pw, 60);
    let mut truncated_len = good.clone();
    truncated_len[1] = 0xFF; // a remaining length that never ends
    let mut bad_protocol = good.clone();
    bad_protocol[4..8].copy_from_slice(b"MQTX");
    let cases: Vec<Vec<u8>> = vec![
        vec![0x30, 0x05, 0, 1, b'a', b'b', b'c'], // PUBLISH before CONNECT
        vec![0xF0, 0x00],                         // reserved packet type
        vec![0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F], // remaining length of 5 bytes
        vec![0x10, 0x02, 0x00, 0x09],             // a string longer than the packet
        truncated_len[..6].to_vec(),
        bad_protocol,
        (0..=255u8).cycle().take(4096).collect(),
    ];
    for bytes in &cases {
        let mut s = TcpStream::connect(&emu.mqtt).expect("connect");
        let _ = s.write_all(bytes);
        let _ = s.write_all(&[0u8; 64]);
        assert!(
            closed_within(&mut s, Duration::from_secs(15)),
            "{:?} was not closed",
            &bytes[..bytes.len().min(8)]
        );
    }
    // Oversized: a PUBLISH announcing 200 MiB after a good login.
    let mut s = TcpStream::connect(&emu.mqtt).expect("connect");
    s.write_all(&good).expect("send");
    let mut ack = [0u8; 4];
    s.read_exact(&mut ack).expect("CONNACK");
    s.write_all(&[0x30, 0x80, 0x80, 0x80, 0x64]).expect("send");
    assert!(
        closed_within(&mut s, Duration::from_secs(15)),
        "oversized kept"
    );
    still_serves(&emu, &cid, &user, &pw);

    // A CONNECT that never comes: closed after 10 s, not before 9 s.
    let start = Instant::now();
    let mut silent = TcpStream::connect(&emu.mqtt).expect("connect");
    assert!(closed_within(&mut silent, Duration::from_secs(20)));
    let took = start.elapsed();
    assert!(
        took >= Duration::from_secs(9) && took < Duration::from_secs(15),
        "{took:?}"
    );
    assert!(emu.log_text().contains("no CONNECT within 10 s"));

    // 500 idle connections: logins still work meanwhile.
    let idle: Vec<TcpStream> = (0..500)
        .map(|_| TcpStream::connect(&emu.mqtt).expect("idle connect"))
        .collect();
    still_serves(&emu, &cid, &user, &pw);
    // Activated by the logins above: the platform's 6289, answered at once.
    t.cmd()
        .args(["register", PK, "bad-0001", PS, "--endpoint", &emu.url])
        .status(3)
        .stderr_contains("6289")
        .run();
    drop(idle);

    assert!(emu.alive(), "the emulator died");
    assert!(state_secrets(&state).contains(&("bad-0001".to_owned(), ds.clone())));
    let d = emu.device("bad-0001");
    assert!(d.activated && d.secrets_issued == 1, "{d:?}");
    let log = emu.log_text();
    assert!(
        !log.contains(&ds) && !log.contains(&pw) && !log.contains("panicked"),
        "{log}"
    );
}

#[test]
fn registrations_succeed_while_300_slow_connections_trickle() {
    let t = Test::new();
    let names: Vec<String> = (1..=5).map(|i| format!("slow-{i:04}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let products = write_products(t.path(), &refs);
    let emu = MqttEmulator::start(t.path(), &products, None, &[]);
    let addr = emu.url.strip_prefix("http://").expect("http").to_owned();
    // 300 connections that send a request head one byte a second.
    let head = b"POST /auth/register/device HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n";
    let mut slow: Vec<TcpStream> = (0..300)
        .map(|_| TcpStream::connect(&addr).expect("slow connect"))
        .collect();
    let start = Instant::now();
    let mut next = 0;
    let mut registered = 0;
    // Bounded: 14 rounds of one byte each, one second apart.
    for round in 0..14 {
        for s in &mut slow {
            let _ = s.write_all(&head[round..=round]);
        }
        if round % 3 == 1 && next < names.len() {
            let began = Instant::now();
            register(&t, &emu.url, &names[next], &[]);
            assert!(
                began.elapsed() < Duration::from_secs(5),
                "registration stalled"
            );
            next += 1;
            registered += 1;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    assert!(registered >= 4, "only {registered} registrations");
    // After more than 10 s without a whole head, every slow connection is closed.
    assert!(start.elapsed() > Duration::from_secs(11));
    let mut open = 0;
    for s in &mut slow {
        if !closed_within(s, Duration::from_millis(200)) {
            open += 1;
        }
    }
    assert_eq!(open, 0, "{open} slow connections are still open");
}
