//! `burnline register` (and `tool_generate_3triple`) against the emulator run
//! as a real process on 127.0.0.1: success over HTTP and TLS, the platform's
//! refusals, once-only registration, and failures of the network or input.

mod common;

use common::emulator::*;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

fn parse_device_info(stdout: &str, dn: &str) -> String {
    let prefix = format!("DeviceInfo: {PK} {dn} ");
    assert!(
        stdout.starts_with(&prefix) && stdout.ends_with('\n'),
        "stdout: {stdout:?}"
    );
    assert_eq!(stdout.lines().count(), 1, "exactly one line: {stdout:?}");
    let ds = stdout[prefix.len()..].trim_end_matches('\n').to_owned();
    assert_eq!(ds.len(), 32, "{ds}");
    assert!(ds.chars().all(|c| c.is_ascii_alphanumeric()), "{ds}");
    ds
}

#[test]
fn register_over_http_once_only_then_console_delete() {
    let dir = tempfile::tempdir().expect("tempdir");
    let products = write_products(dir.path(), &["example1", "gw@1:a", "dev-sha1", "dev-md5"]);
    let state = dir.path().join("state.json");
    let emu = Emulator::start(
        dir.path(),
        &products,
        &["--state", state.to_str().expect("utf8")],
    );

    let out = run(&["register", PK, "example1", PS, "--endpoint", &emu.url]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let ds = parse_device_info(&text(&out.stdout), "example1");
    assert!(!text(&out.stderr).contains(&ds), "secret on stderr");
    // Registered, but activated only at its first MQTT login.
    assert!(emu.registered("example1") && !emu.activated("example1"));
    // The state file holds the issued secret, with mode 0600.
    assert!(state_secrets(&state).contains(&("example1".to_owned(), ds.clone())));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&state)
            .expect("meta")
            .permissions()
            .mode()
            & 0o777,
        0o600
    );

    // Not activated yet: registering again issues a new secret, which
    // replaces the first (6289 after activation: tests/mqtt_activation.rs).
    let again = run(&["register", PK, "example1", PS, "--endpoint", &emu.url]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    let replaced = parse_device_info(&text(&again.stdout), "example1");
    assert_ne!(replaced, ds);
    assert!(state_secrets(&state).contains(&("example1".to_owned(), replaced)));

    // Console delete, then it registers again with a new secret.
    let (status, body) = admin(
        &emu.url,
        "DELETE",
        &format!("/admin/devices/{PK}/example1"),
        None,
        None,
    );
    assert_eq!(status, 200, "{body}");
    assert!(!emu.registered("example1"));
    let third = run(&["register", PK, "example1", PS, "--endpoint", &emu.url]);
    assert_eq!(third.status.code(), Some(0), "{}", text(&third.stderr));
    let ds2 = parse_device_info(&text(&third.stdout), "example1");
    assert_ne!(ds, ds2);

    // A DeviceName with `@` and `:`, and the other sign methods.
    let out = run(&["register", PK, "gw@1:a", PS, "--endpoint", &emu.url]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    parse_device_info(&text(&out.stdout), "gw@1:a");
    for (dn, m) in [("dev-sha1", "hmacsha1"), ("dev-md5", "hmacmd5")] {
        let out = run(&[
            "register",
            PK,
            dn,
            PS,
            "--endpoint",
            &emu.url,
            "--sign-method",
            m,
        ]);
        assert_eq!(out.status.code(), Some(0), "{m}: {}", text(&out.stderr));
        parse_device_info(&text(&out.stdout), dn);
    }
    let bad = run(&[
        "register",
        PK,
        "dev-md5",
        PS,
        "--endpoint",
        &emu.url,
        "--sign-method",
        "sha512",
    ]);
    assert_eq!(bad.status.code(), Some(2));

    // State survives a restart of the emulator.
    drop(emu);
    let emu = Emulator::start(
        dir.path(),
        &products,
        &["--state", state.to_str().expect("utf8")],
    );
    assert!(emu.registered("example1") && emu.registered("gw@1:a"));
    assert!(state_secrets(&state).contains(&("example1".to_owned(), ds2)));
}

#[test]
fn refusals_have_clear_messages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let products = write_products(dir.path(), &["dev1", "dev2"]);
    let emu = Emulator::start(dir.path(), &products, &[]);

    // Switch off via the admin API: 6288; on again: registers.
    let path = format!("/admin/products/{PK}/dynamic-registration");
    assert_eq!(
        admin(&emu.url, "PUT", &path, Some(r#"{"enabled":false}"#), None).0,
        200
    );
    let out = run(&["register", PK, "dev1", PS, "--endpoint", &emu.url]);
    assert_eq!(out.status.code(), Some(3));
    let err = text(&out.stderr);
    assert!(
        err.contains("6288") && err.contains("switched off"),
        "{err}"
    );
    assert!(!emu.registered("dev1"));
    assert_eq!(
        admin(&emu.url, "PUT", &path, Some(r#"{"enabled":true}"#), None).0,
        200
    );
    assert_eq!(
        run(&["register", PK, "dev1", PS, "--endpoint", &emu.url])
            .status
            .code(),
        Some(0)
    );

    // A product that is off from the products file.
    let out = run(&["register", PK_OFF, "off1", PS_OFF, "--endpoint", &emu.url]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("6288"));

    // Wrong ProductSecret: 6600.
    let out = run(&[
        "register",
        PK,
        "dev2",
        "0000000000000000",
        "--endpoint",
        &emu.url,
    ]);
    assert_eq!(out.status.code(), Some(3));
    let err = text(&out.stderr);
    assert!(
        err.contains("6600") && err.contains("check the ProductSecret"),
        "{err}"
    );

    // Unknown product: 6250; unknown device: 6100 shown with code and message.
    let out = run(&[
        "register",
        "zzzzzzzzzzz",
        "dev2",
        PS,
        "--endpoint",
        &emu.url,
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("6250"), "{}", text(&out.stderr));
    let out = run(&["register", PK, "nosuchdev", PS, "--endpoint", &emu.url]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("code 6100"),
        "{}",
        text(&out.stderr)
    );
    assert!(!emu.registered("dev2"));

    // The ProductSecret from the environment (`-`), out of the process list.
    let out = std::process::Command::new(BIN)
        .args(["register", PK, "dev2", "-", "--endpoint", &emu.url])
        .env("BURNLINE_PRODUCT_SECRET", PS)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(emu.registered("dev2"));
    let out = std::process::Command::new(BIN)
        .args(["register", PK, "dev2", "-", "--endpoint", &emu.url])
        .env_remove("BURNLINE_PRODUCT_SECRET")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn tls_with_a_private_ca() {
    let dir = tempfile::tempdir().expect("tempdir");
    let products = write_products(dir.path(), &["tls1", "tls2"]);
    let (ca, cert, key) = test_ca(dir.path());
    let (cert, key) = (cert.to_str().expect("utf8"), key.to_str().expect("utf8"));
    let emu = Emulator::start(
        dir.path(),
        &products,
        &["--tls-cert", cert, "--tls-key", key],
    );
    assert!(emu.url.starts_with("https://127.0.0.1:"), "{}", emu.url);

    // Without the CA: verification fails, nothing is registered.
    let out = run(&["register", PK, "tls1", PS, "--endpoint", &emu.url]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("certificate") && err.contains("--ca-file"),
        "{err}"
    );
    assert!(out.stdout.is_empty());

    let ca_pem = std::fs::read(&ca).expect("ca");
    let (_, body) = admin(&emu.url, "GET", "/admin/devices", None, Some(&ca_pem));
    assert!(
        body.contains(r#""activated":false"#) && !body.contains(r#""activated":true"#),
        "{body}"
    );

    // With the CA: registers, by IP and by name.
    let ca = ca.to_str().expect("utf8");
    let out = run(&[
        "register",
        PK,
        "tls1",
        PS,
        "--endpoint",
        &emu.url,
        "--ca-file",
        ca,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let ds = parse_device_info(&text(&out.stdout), "tls1");
    assert!(!text(&out.stderr).contains(&ds));
    let by_name = emu.url.replace("127.0.0.1", "localhost");
    let out = run(&[
        "register",
        PK,
        "tls2",
        PS,
        "--endpoint",
        &by_name,
        "--ca-file",
        ca,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // A CA file that is not a certificate is bad input.
    let out = run(&[
        "register",
        PK,
        "tls2",
        PS,
        "--endpoint",
        &emu.url,
        "--ca-file",
        key,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn vendor_name_through_a_symlink() {
    let dir = tempfile::tempdir().expect("tempdir");
    let products = write_products(dir.path(), &["vendor1"]);
    let state = dir.path().join("state.json");
    let emu = Emulator::start(
        dir.path(),
        &products,
        &["--state", state.to_str().expect("utf8")],
    );
    let link = dir.path().join("tool_generate_3triple");
    std::os::unix::fs::symlink(BIN, &link).expect("symlink");
    let out = std::process::Command::new(&link)
        .args([PK, "vendor1", PS, "--endpoint", &emu.url])
        .output()
        .expect("run symlink");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (_, ds) = state_secrets(&state)
        .into_iter()
        .find(|(n, _)| n == "vendor1")
        .expect("issued");
    assert_eq!(
        text(&out.stdout),
        format!("DeviceInfo: {PK} vendor1 {ds}\n")
    );
    assert!(!text(&out.stderr).contains(&ds));
    // Missing arguments: usage error, like any bad command line.
    let out = std::process::Command::new(&link)
        .args([PK])
        .output()
        .expect("run symlink");
    assert_eq!(out.status.code(), Some(2));
}

fn no_panic(out: &std::process::Output) {
    assert!(
        !text(&out.stderr).contains("panicked"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn bad_input_and_broken_servers() {
    let generous = Duration::from_secs(25);

    for url in [
        "http//127.0.0.1:1",
        "https://127.0.0.1:99999",
        "ftp://127.0.0.1",
        "https://a b",
        "https://",
    ] {
        let out = run(&["register", PK, "dev1", PS, "--endpoint", url]);
        assert_eq!(out.status.code(), Some(2), "{url}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("endpoint"),
            "{url}: {}",
            text(&out.stderr)
        );
        no_panic(&out);
    }
    let out = run(&[
        "register",
        "short",
        "dev1",
        PS,
        "--endpoint",
        "http://127.0.0.1:1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("ProductKey"));

    // A closed port.
    let closed = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let t = Instant::now();
    let out = run(&[
        "register",
        PK,
        "dev1",
        PS,
        "--endpoint",
        &format!("http://127.0.0.1:{port}"),
    ]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("connection refused"),
        "{}",
        text(&out.stderr)
    );
    assert!(t.elapsed() < generous);
    no_panic(&out);

    // A server answering something that is not JSON.
    let junk = TcpListener::bind("127.0.0.1:0").expect("bind");
    let junk_url = format!("http://{}", junk.local_addr().expect("addr"));
    let server = std::thread::spawn(move || {
        if let Ok((mut s, _)) = junk.accept() {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nConnection: close\r\n\r\n<html>hi</ht>",
            );
        }
    });
    let out = run(&["register", PK, "dev1", PS, "--endpoint", &junk_url]);
    let _ = server.join();
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("not the platform's JSON"),
        "{}",
        text(&out.stderr)
    );
    no_panic(&out);

    // A server that accepts and never answers: the read timeout ends it.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent_url = format!("http://{}", silent.local_addr().expect("addr"));
    silent.set_nonblocking(true).expect("nonblocking");
    // Accepts and holds every connection for 4 s; counts them.
    let holder = std::thread::spawn(move || {
        let mut held = Vec::new();
        let end = Instant::now() + Duration::from_secs(4);
        while Instant::now() < end {
            if let Ok((c, _)) = silent.accept() {
                held.push(c);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        held.len()
    });
    let t = Instant::now();
    let out = run(&[
        "register",
        PK,
        "dev1",
        PS,
        "--endpoint",
        &silent_url,
        "--read-timeout-ms",
        "500",
    ]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("timed out"),
        "{}",
        text(&out.stderr)
    );
    assert!(t.elapsed() < generous);
    no_panic(&out);
    // Once the request may have reached the server it is never sent again.
    assert_eq!(
        holder.join().expect("holder"),
        1,
        "the request was retried after it was sent"
    );
}

#[test]
fn plain_http_to_a_non_loopback_host_is_refused_unsent() {
    // 0.0.0.0 is not a loopback address, but a connection to it would land
    // on this listener: so "no connection attempt" can be checked here,
    // without sending anything off the machine.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    listener.set_nonblocking(true).expect("nonblocking");
    for host in ["0.0.0.0", "10.0.0.1", "192.168.1.1", "example.com"] {
        let out = run(&[
            "register",
            PK,
            "dev1",
            PS,
            "--endpoint",
            &format!("http://{host}:{port}"),
        ]);
        assert_eq!(out.status.code(), Some(2), "{host}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("only for a loopback host"),
            "{}",
            text(&out.stderr)
        );
    }
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "something connected"
    );
}

#[test]
fn mqtt_credentials_and_device_auth() {
    // The V2 vector of the domain notes.
    let out = run(&[
        "mqtt-credentials",
        "--product-key",
        "a1X2bEnP82z",
        "--device-name",
        "example1",
        "--device-secret",
        "ga7XA6KdlEeiPXQPpRbAjOZXwG8ydgSe",
        "--timestamp",
        "2524608000000",
        "--plain",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "host: a1X2bEnP82z.iot-as-mqtt.cn-shanghai.aliyuncs.com\nport: 1883\n\
         clientId: a1X2bEnP82z.example1|securemode=3,signmethod=hmacsha256,timestamp=2524608000000|\n\
         username: example1&a1X2bEnP82z\n\
         password: b8ce8f1d706dd3c61d13bfd9855def7e321b785084ca9c93f0169a2b46785dd2\n"
    );

    // A registered device authenticates with a password derived the same way.
    let dir = tempfile::tempdir().expect("tempdir");
    let products = write_products(dir.path(), &["auth1"]);
    let emu = Emulator::start(dir.path(), &products, &[]);
    let reg = run(&["register", PK, "auth1", PS, "--endpoint", &emu.url]);
    assert_eq!(reg.status.code(), Some(0));
    let ds = parse_device_info(&text(&reg.stdout), "auth1");
    let creds = run(&[
        "mqtt-credentials",
        "--product-key",
        PK,
        "--device-name",
        "auth1",
        "--device-secret",
        &ds,
        "--timestamp",
        "1700000000000",
    ]);
    let creds = text(&creds.stdout);
    let password = creds
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .expect("password");
    // The real /auth body: `version` is not signed.
    let body = |sign: &str| {
        serde_json::json!({"version": "default", "productKey": PK, "deviceName": "auth1",
            "clientId": format!("{PK}.auth1"), "timestamp": "1700000000000",
            "signmethod": "hmacsha256", "sign": sign})
        .to_string()
    };
    let (_, wrong) = admin(
        &emu.url,
        "POST",
        "/auth",
        Some(&body(&"0".repeat(64))),
        None,
    );
    assert!(wrong.contains(r#""code":20000"#), "{wrong}");
    let auth1 = |emu: &Emulator| {
        emu.devices()
            .into_iter()
            .find(|d| d.0 == "auth1")
            .expect("auth1")
    };
    assert_eq!(auth1(&emu), ("auth1".to_owned(), false, false));
    let (_, ok) = admin(
        &emu.url,
        "POST",
        "/auth",
        Some(&body(&password.to_uppercase())),
        None,
    );
    assert!(
        ok.contains(r#""code":0"#) && ok.contains(r#""info":{"token":"#),
        "{ok}"
    );
    // HTTP authentication is not an MQTT connection: not online.
    assert_eq!(auth1(&emu), ("auth1".to_owned(), false, false));

    // TLS is the default: securemode 2 on 8883; a new instance's -2.
    let tls = run(&[
        "mqtt-credentials",
        "--product-key",
        PK,
        "--device-name",
        "example1",
        "--device-secret",
        "ga7XA6KdlEeiPXQPpRbAjOZXwG8ydgSe",
        "--timestamp",
        "2524608000000",
    ]);
    let tls = text(&tls.stdout);
    assert!(
        tls.contains("port: 8883\n")
            && tls.contains("|securemode=2,signmethod=hmacsha256,timestamp=2524608000000|"),
        "{tls}"
    );
    assert!(
        tls.contains("password: b8ce8f1d706dd3c61d13bfd9855def7e321b785084ca9c93f0169a2b46785dd2"),
        "{tls}"
    );
    let inst = run(&[
        "mqtt-credentials",
        "--product-key",
        PK,
        "--device-name",
        "example1",
        "--device-secret",
        "ga7XA6KdlEeiPXQPpRbAjOZXwG8ydgSe",
        "--timestamp",
        "1",
        "--instance-id",
        "iot-06z00abc",
        "--port",
        "443",
        "--host",
        "mqtt.example",
    ]);
    let inst = text(&inst.stdout);
    assert!(
        inst.contains("host: mqtt.example\nport: 443\n")
            && inst.contains("securemode=-2,")
            && inst.contains(",instanceId=iot-06z00abc|"),
        "{inst}"
    );
}

#[test]
fn the_emulator_serves_requests_concurrently() {
    // Each request is held 1 s. Were requests served one after another,
    // the first answer would come before the second request is held; served
    // concurrently, all four are held before the first answer.
    let dir = tempfile::tempdir().expect("tempdir");
    let names = ["conc1", "conc2", "conc3", "conc4"];
    let products = write_products(dir.path(), &names);
    let emu = Emulator::start(dir.path(), &products, &["--delay-ms", "1000"]);
    let children: Vec<_> = names
        .iter()
        .map(|dn| {
            std::process::Command::new(BIN)
                .args(["register", PK, dn, PS, "--endpoint", &emu.url])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().expect("wait");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    let log = emu.log_text();
    let lines: Vec<&str> = log.lines().collect();
    let first_answer = lines
        .iter()
        .position(|l| l.starts_with("emulator: register "))
        .expect("an answer");
    let held_before = lines[..first_answer]
        .iter()
        .filter(|l| l.starts_with("emulator: holding POST"))
        .count();
    assert_eq!(held_before, 4, "{log}");
}
