//! `burnline register` (and `tool_generate_3triple`) against the emulator run
//! as a real process on 127.0.0.1: success over HTTP and TLS, the platform's
//! refusals, once-only registration, and failures of the network or input.
//! The `tool_generate_3triple` symlink of docs/registration.md is tested here.

mod common;

use common::emulator::{admin, state_secrets, test_ca, write_products, Emulator, PK_OFF, PS_OFF};
use common::*;
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

/// `burnline register PK DN PS --endpoint URL`, in `t`'s directory.
fn register(t: &Test, dn: &str, url: &str) -> Test {
    t.cmd().args(["register", PK, dn, PS, "--endpoint", url])
}

/// Registers `dn` and returns the DeviceSecret it printed, checking that
/// stderr does not show it.
fn registered(cmd: Test, dn: &str) -> String {
    let o = cmd.run();
    let ds = parse_device_info(&o.stdout, dn);
    assert!(!o.stderr.contains(&ds), "secret on stderr: {}", o.stderr);
    ds
}

#[test]
fn register_over_http_once_only_then_console_delete() {
    let t = Test::new();
    let products = write_products(t.path(), &["example1", "gw@1:a", "dev-sha1", "dev-md5"]);
    let state = t.path().join("state.json");
    let emu = Emulator::start(t.path(), &products, &["--state", s(&state)]);

    let ds = registered(register(&t, "example1", &emu.url), "example1");
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
    let replaced = registered(register(&t, "example1", &emu.url), "example1");
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
    let ds2 = parse_device_info(&register(&t, "example1", &emu.url).run().stdout, "example1");
    assert_ne!(ds, ds2);

    // A DeviceName with `@` and `:`, and the other sign methods.
    parse_device_info(&register(&t, "gw@1:a", &emu.url).run().stdout, "gw@1:a");
    for (dn, m) in [("dev-sha1", "hmacsha1"), ("dev-md5", "hmacmd5")] {
        let o = register(&t, dn, &emu.url).args(["--sign-method", m]).run();
        parse_device_info(&o.stdout, dn);
    }
    register(&t, "dev-md5", &emu.url)
        .args(["--sign-method", "sha512"])
        .status(2)
        .run();

    // State survives a restart of the emulator.
    drop(emu);
    let emu = Emulator::start(t.path(), &products, &["--state", s(&state)]);
    assert!(emu.registered("example1") && emu.registered("gw@1:a"));
    assert!(state_secrets(&state).contains(&("example1".to_owned(), ds2)));
}

#[test]
fn refusals_have_clear_messages() {
    let t = Test::new();
    let products = write_products(t.path(), &["dev1", "dev2"]);
    let emu = Emulator::start(t.path(), &products, &[]);

    // Switch off via the admin API: 6288; on again: registers.
    let path = format!("/admin/products/{PK}/dynamic-registration");
    assert_eq!(
        admin(&emu.url, "PUT", &path, Some(r#"{"enabled":false}"#), None).0,
        200
    );
    register(&t, "dev1", &emu.url)
        .status(3)
        .stderr_contains("6288")
        .stderr_contains("switched off")
        .run();
    assert!(!emu.registered("dev1"));
    assert_eq!(
        admin(&emu.url, "PUT", &path, Some(r#"{"enabled":true}"#), None).0,
        200
    );
    register(&t, "dev1", &emu.url).run();

    // A product that is off from the products file.
    t.cmd()
        .args(["register", PK_OFF, "off1", PS_OFF, "--endpoint", &emu.url])
        .status(3)
        .stderr_contains("6288")
        .run();

    // Wrong ProductSecret: 6600.
    t.cmd()
        .args(["register", PK, "dev2", "0000000000000000"])
        .args(["--endpoint", &emu.url])
        .status(3)
        .stderr_contains("6600")
        .stderr_contains("check the ProductSecret")
        .run();

    // Unknown product: 6250; unknown device: 6100 shown with code and message.
    t.cmd()
        .args([
            "register",
            "zzzzzzzzzzz",
            "dev2",
            PS,
            "--endpoint",
            &emu.url,
        ])
        .status(3)
        .stderr_contains("6250")
        .run();
    register(&t, "nosuchdev", &emu.url)
        .status(3)
        .stderr_contains("code 6100")
        .run();
    assert!(!emu.registered("dev2"));

    // The ProductSecret from the environment (no PS), out of the process
    // list (`tests/secret_inputs.rs` has stdin and the file).
    let from_env = t
        .cmd()
        .args(["register", PK, "dev2", "--endpoint", &emu.url]);
    from_env.clone().env("BURNLINE_PRODUCT_SECRET", PS).run();
    assert!(emu.registered("dev2"));
    from_env
        .env_remove("BURNLINE_PRODUCT_SECRET")
        .status(2)
        .run();
}

#[test]
fn tls_with_a_private_ca() {
    let t = Test::new();
    let products = write_products(t.path(), &["tls1", "tls2"]);
    let (ca, cert, key) = test_ca(t.path());
    let emu = Emulator::start(
        t.path(),
        &products,
        &["--tls-cert", s(&cert), "--tls-key", s(&key)],
    );
    assert!(emu.url.starts_with("https://127.0.0.1:"), "{}", emu.url);

    // Without the CA: verification fails, nothing is registered.
    register(&t, "tls1", &emu.url)
        .status(4)
        .stderr_contains("certificate")
        .stderr_contains("--ca-file")
        .stdout("")
        .run();

    let ca_pem = std::fs::read(&ca).expect("ca");
    let (_, body) = admin(&emu.url, "GET", "/admin/devices", None, Some(&ca_pem));
    assert!(
        body.contains(r#""activated":false"#) && !body.contains(r#""activated":true"#),
        "{body}"
    );

    // With the CA: registers, by IP and by name.
    registered(
        register(&t, "tls1", &emu.url).args(["--ca-file", s(&ca)]),
        "tls1",
    );
    let by_name = emu.url.replace("127.0.0.1", "localhost");
    register(&t, "tls2", &by_name)
        .args(["--ca-file", s(&ca)])
        .run();

    // A CA file that is not a certificate is bad input.
    register(&t, "tls2", &emu.url)
        .args(["--ca-file", s(&key)])
        .status(2)
        .run();
}

#[test]
fn vendor_name_through_a_symlink() {
    let t = Test::new();
    let products = write_products(t.path(), &["vendor1"]);
    let state = t.path().join("state.json");
    let emu = Emulator::start(t.path(), &products, &["--state", s(&state)]);
    let link = t.path().join("tool_generate_3triple");
    std::os::unix::fs::symlink(burnline_bin(), &link).expect("symlink");
    let o = t
        .cmd()
        .program(&link)
        .args([PK, "vendor1", PS, "--endpoint", &emu.url])
        .run();
    let (_, ds) = state_secrets(&state)
        .into_iter()
        .find(|(n, _)| n == "vendor1")
        .expect("issued");
    assert_eq!(o.stdout, format!("DeviceInfo: {PK} vendor1 {ds}\n"));
    assert!(!o.stderr.contains(&ds));
    // Missing arguments: usage error, like any bad command line.
    t.cmd().program(&link).args([PK]).status(2).run();
}

#[test]
fn bad_input_and_broken_servers() {
    let generous = Duration::from_secs(25);
    let t = Test::new();

    for url in [
        "http//127.0.0.1:1",
        "https://127.0.0.1:99999",
        "ftp://127.0.0.1",
        "https://a b",
        "https://",
    ] {
        register(&t, "dev1", url)
            .status(2)
            .stderr_contains("endpoint")
            .stderr_lacks("panicked")
            .run();
    }
    t.cmd()
        .args(["register", "short", "dev1", PS])
        .args(["--endpoint", "http://127.0.0.1:1"])
        .status(2)
        .stderr_contains("ProductKey")
        .run();

    // A closed port.
    let closed = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let start = Instant::now();
    register(&t, "dev1", &format!("http://127.0.0.1:{port}"))
        .status(4)
        .stderr_contains("connection refused")
        .stderr_lacks("panicked")
        .run();
    assert!(start.elapsed() < generous);

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
    register(&t, "dev1", &junk_url)
        .status(4)
        .stderr_contains("not the platform's JSON")
        .stderr_lacks("panicked")
        .run();
    let _ = server.join();

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
    let start = Instant::now();
    register(&t, "dev1", &silent_url)
        .args(["--read-timeout-ms", "500"])
        .status(4)
        .stderr_contains("timed out")
        .stderr_lacks("panicked")
        .run();
    assert!(start.elapsed() < generous);
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
    let t = Test::new();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    listener.set_nonblocking(true).expect("nonblocking");
    for host in ["0.0.0.0", "10.0.0.1", "192.168.1.1", "example.com"] {
        register(&t, "dev1", &format!("http://{host}:{port}"))
            .status(2)
            .stderr_contains("only for a loopback host")
            .run();
    }
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "something connected"
    );
}

#[test]
fn mqtt_credentials_and_device_auth() {
    // The V2 vector of the domain notes.
    let t = Test::new();
    t.cmd()
        .args([
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
        ])
        .stdout(
            "host: a1X2bEnP82z.iot-as-mqtt.cn-shanghai.aliyuncs.com\nport: 1883\n\
             clientId: a1X2bEnP82z.example1|securemode=3,signmethod=hmacsha256,timestamp=2524608000000|\n\
             username: example1&a1X2bEnP82z\n\
             password: b8ce8f1d706dd3c61d13bfd9855def7e321b785084ca9c93f0169a2b46785dd2\n",
        )
        .run();

    // A registered device authenticates with a password derived the same way.
    let products = write_products(t.path(), &["auth1"]);
    let emu = Emulator::start(t.path(), &products, &[]);
    let ds = parse_device_info(&register(&t, "auth1", &emu.url).run().stdout, "auth1");
    let creds = t
        .cmd()
        .args([
            "mqtt-credentials",
            "--product-key",
            PK,
            "--device-name",
            "auth1",
        ])
        .args(["--device-secret", &ds, "--timestamp", "1700000000000"])
        .run()
        .stdout;
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
    let v2 = [
        "mqtt-credentials",
        "--product-key",
        PK,
        "--device-name",
        "example1",
        "--device-secret",
        "ga7XA6KdlEeiPXQPpRbAjOZXwG8ydgSe",
        "--timestamp",
        "2524608000000",
    ];
    t.cmd()
        .args(v2)
        .stdout_contains("port: 8883\n")
        .stdout_contains("|securemode=2,signmethod=hmacsha256,timestamp=2524608000000|")
        .stdout_contains(
            "password: b8ce8f1d706dd3c61d13bfd9855def7e321b785084ca9c93f0169a2b46785dd2",
        )
        .run();
    t.cmd()
        .args(v2)
        .args([
            "--instance-id",
            "iot-06z00abc",
            "--port",
            "443",
            "--host",
            "mqtt.example",
        ])
        .stdout_contains("host: mqtt.example\nport: 443\n")
        .stdout_contains("securemode=-2,")
        .stdout_contains(",instanceId=iot-06z00abc|")
        .run();
}

#[test]
fn the_emulator_serves_requests_concurrently() {
    // Each request is held 1 s. Were requests served one after another,
    // the first answer would come before the second request is held; served
    // concurrently, all four are held before the first answer.
    let t = Test::new();
    let names = ["conc1", "conc2", "conc3", "conc4"];
    let products = write_products(t.path(), &names);
    let emu = Emulator::start(t.path(), &products, &["--delay-ms", "1000"]);
    let running: Vec<_> = names
        .iter()
        .map(|dn| register(&t, dn, &emu.url).spawn())
        .collect();
    for r in running {
        r.wait();
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
