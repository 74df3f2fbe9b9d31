//! The identity pool on a real PostgreSQL over TLS (a throwaway cluster
//! with `ssl=on` and a server certificate for 127.0.0.1 and localhost,
//! signed by a test CA made with rcgen): `pool init/import/status` and a
//! `flash --pool` over `sslmode=require&sslrootcert=CA`; and what is
//! refused, each with one line and its exit code: a CA that did not sign
//! the server's certificate, Mozilla's roots alone, a certificate for
//! another host name, a server without TLS when TLS is asked (exit 5); a
//! missing CA file, `sslmode=prefer`, a remote host in clear (exit 2).

mod common;

use common::emulator::{test_ca, test_ca_for};
use common::pool_line::{secret_of, tiny};
use common::postgres::{Postgres, PASSWORD};
use common::{s, Test};
use std::path::Path;

fn tls_url(pg: &Postgres, host: &str, mode: &str, ca: Option<&Path>) -> String {
    let mut u = format!("postgres://postgres@{host}:{}/line?sslmode={mode}", pg.port);
    if let Some(ca) = ca {
        u.push_str(&format!("&sslrootcert={}", ca.display()));
    }
    u
}

#[test]
fn a_pool_over_verified_tls() {
    // The password from the environment, as the README advises.
    let t = Test::new().env("PGPASSWORD", PASSWORD);
    let d = t.path().to_path_buf();
    let certs = d.join("certs");
    std::fs::create_dir_all(&certs).expect("certs");
    let (ca, leaf, leaf_key) = test_ca(&certs);
    let pg = Postgres::start_tls(&leaf, &leaf_key);
    pg.createdb("line");
    let url = tls_url(&pg, "127.0.0.1", "require", Some(&ca));
    let (recipe, csv) = tiny(&d, 4);
    let key = d.join("pool.key");
    t.cmd()
        .args(["pool", "init", "--db", &url, "--key-file", s(&key)])
        .stderr_lacks(PASSWORD)
        .run();
    t.cmd()
        .args([
            "pool",
            "import",
            "--db",
            &url,
            s(&recipe),
            "--devices",
            s(&csv),
        ])
        .args(["--key-file", s(&key)])
        .stderr_contains("added")
        .run();
    let card = d.join("a.img");
    t.cmd()
        .args(["flash", "--pool", &url, "--recipe", s(&recipe)])
        .args([
            "--station",
            "st1",
            "--key-file",
            s(&key),
            "--target",
            s(&card),
        ])
        .stderr_contains("ok: a1X2bEnP82z/gw-00001")
        .output_lacks(PASSWORD)
        .output_lacks(secret_of(1))
        .run();
    let card_bytes = std::fs::read(&card).expect("card");
    assert!(
        card_bytes.windows(8).any(|w| w == b"gw-00001"),
        "the card holds its identity"
    );
    // verify-full by name (localhost) is the same TLS, verified.
    t.cmd()
        .args(["pool", "status", "--json", "--db"])
        .arg(tls_url(&pg, "localhost", "verify-full", Some(&ca)))
        .stdout_contains("\"verified\":1")
        .stdout_contains("\"available\":3")
        .run();
    // A CA that did not sign the server's certificate: refused, exit 5.
    let other = d.join("other");
    std::fs::create_dir_all(&other).expect("other");
    let (other_ca, _, _) = test_ca(&other);
    t.cmd()
        .args(["pool", "status", "--db"])
        .arg(tls_url(&pg, "127.0.0.1", "require", Some(&other_ca)))
        .status(5)
        .stderr_lines(1)
        .stderr_contains("TLS certificate verification failed")
        .stderr_lacks(PASSWORD)
        .run();
    // Mozilla's roots alone do not know the test CA either.
    t.cmd()
        .args(["pool", "status", "--db"])
        .arg(tls_url(&pg, "127.0.0.1", "verify-ca", None))
        .status(5)
        .stderr_lines(1)
        .stderr_contains("UnknownIssuer")
        .run();
    // A flash refused so writes no card.
    let refused = d.join("refused.img");
    t.cmd()
        .args(["flash", "--pool"])
        .arg(tls_url(&pg, "127.0.0.1", "require", Some(&other_ca)))
        .args([
            "--recipe",
            s(&recipe),
            "--station",
            "st2",
            "--key-file",
            s(&key),
        ])
        .args(["--target", s(&refused)])
        .status(5)
        .stderr_contains("certificate verification failed")
        .absent(&refused)
        .run();
    // A CA file that is not there: bad input, exit 2.
    t.cmd()
        .args(["pool", "status", "--db"])
        .arg(tls_url(
            &pg,
            "127.0.0.1",
            "require",
            Some(&d.join("nope.pem")),
        ))
        .status(2)
        .stderr_lines(1)
        .stderr_contains("sslrootcert")
        .stderr_contains("nope.pem")
        .run();

    // The host name is verified: a certificate for another name is refused
    // even from the right CA.
    pg.stop();
    let named = d.join("named");
    std::fs::create_dir_all(&named).expect("named");
    let (named_ca, named_leaf, named_key) = test_ca_for(&named, &["db.line.example"]);
    pg.set_tls(Some((&named_leaf, &named_key)));
    pg.start_again();
    t.cmd()
        .args(["pool", "status", "--db"])
        .arg(tls_url(&pg, "127.0.0.1", "require", Some(&named_ca)))
        .status(5)
        .stderr_lines(1)
        .stderr_contains("NotValidForName")
        .run();

    // A server without TLS, when TLS is asked: refused, exit 5.
    pg.stop();
    pg.set_tls(None);
    pg.start_again();
    t.cmd()
        .args(["pool", "status", "--db"])
        .arg(tls_url(&pg, "127.0.0.1", "require", Some(&ca)))
        .status(5)
        .stderr_lines(1)
        .stderr_contains("server does not support TLS")
        .stderr_lacks(PASSWORD)
        .run();
    // The same server in clear over loopback still works.
    t.cmd()
        .args([
            "pool",
            "status",
            "--db",
            &pg.tcp_url("postgres", PASSWORD, "line"),
        ])
        .stdout_contains("verified")
        .run();
}

#[test]
fn clear_text_off_loopback_and_prefer_are_refused() {
    let t = Test::new();
    for (url, says) in [
        (
            "postgres://u:hunter2@db.line.example/line",
            "would go in clear",
        ),
        (
            "postgres://u:hunter2@db.line.example/line?sslmode=disable",
            "would go in clear",
        ),
        (
            "postgres://u:hunter2@db.line.example/line?sslmode=prefer",
            "sslmode=prefer is refused",
        ),
    ] {
        t.cmd()
            .args(["pool", "status", "--db", url])
            .status(2)
            .stderr_contains(says)
            .stderr_lacks("hunter2")
            .run();
    }
}
