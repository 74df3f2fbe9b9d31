//! The typed command-line values: a ProductKey, a DeviceName, `--mqtt`,
//! the OpenAPI's `--endpoint` and a secret's `-` are parsed by clap through
//! the one rule of each, so a bad value is refused before anything runs,
//! exit 2 with one line naming the flag and the rule; a good one works as
//! before.

mod common;

use common::*;

const PK: &str = "a1X2bEnP82z";
const DS: &str = "ga7XA6KdlEeiPXQPpRbAjOZXwG8ydgSe";

/// A refusal of clap: exit 2, exactly one `error:` line, naming `what`.
fn refused(cmd: Test, line: &str) {
    cmd.status(2)
        .stderr(format!("error: {line}\n"))
        .stdout("")
        .run();
}

/// A port on which nothing listens.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn mqtt_credentials(t: &Test, pk: &str, dn: &str) -> Test {
    t.cmd()
        .args(["mqtt-credentials", "--product-key", pk, "--device-name", dn])
        .args(["--timestamp", "2524608000000", "--plain"])
}

#[test]
fn mqtt_credentials_takes_a_product_key_and_device_name_by_their_rules() {
    let t = Test::new();
    mqtt_credentials(&t, PK, "example1")
        .args(["--device-secret", DS])
        .status(0)
        .stdout_contains("clientId: a1X2bEnP82z.example1|")
        .run();
    refused(
        mqtt_credentials(&t, "short", "example1").args(["--device-secret", DS]),
        "--product-key `short`: must be 11 characters, found 5",
    );
    refused(
        mqtt_credentials(&t, PK, "a/b/c/d").args(["--device-secret", DS]),
        "--device-name `a/b/c/d`: may hold only A-Z a-z 0-9 - _ @ . : (found '/')",
    );
    // A DeviceSecret swapped into the ProductKey's place is not echoed.
    mqtt_credentials(&t, DS, "example1")
        .args(["--device-secret", DS])
        .status(2)
        .stderr_lines(1)
        .error_line(
            "--product-key (a value shaped like a secret, not shown): must be 11 characters",
        )
        .stderr_lacks(DS)
        .run();
}

#[test]
fn a_secret_given_as_dash_is_read_from_standard_input() {
    let t = Test::new();
    let given = mqtt_credentials(&t, PK, "example1")
        .args(["--device-secret", DS])
        .run()
        .stdout;
    mqtt_credentials(&t, PK, "example1")
        .args(["--device-secret", "-"])
        .stdin(format!("{DS}\n"))
        .stdout(given)
        .stderr_lacks("visible to every user")
        .run();
}

#[test]
fn register_takes_its_product_key_and_device_name_by_their_rules() {
    let t = Test::new();
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let register = |pk: &str, dn: &str| {
        t.cmd()
            .args(["register", pk, dn, "-", "--endpoint", &endpoint])
            .stdin("7jluWm1zql7bt8qK\n")
    };
    // Good values get as far as the (closed) platform.
    register(PK, "gw-0001")
        .status(4)
        .stderr_contains("connection refused")
        .run();
    refused(
        register("short", "gw-0001"),
        "ProductKey `short`: must be 11 characters, found 5",
    );
    refused(
        register(PK, "abc"),
        "DeviceName `abc`: must be 4 to 32 characters, found 3",
    );
}

#[test]
fn login_check_takes_mqtt_by_its_rule() {
    let t = Test::new();
    let login_check = |mqtt: &str| {
        t.cmd().args([
            "login-check",
            "no.yaml",
            "--devices",
            "no.csv",
            "--mqtt",
            mqtt,
        ])
    };
    // A good value is taken: the run gets as far as the missing recipe.
    login_check("127.0.0.1:1883")
        .status(2)
        .stderr_contains("no.yaml")
        .stderr_lacks("--mqtt")
        .run();
    refused(
        login_check("host"),
        "--mqtt `host`: expected HOST:PORT, mqtt://HOST:PORT or mqtts://HOST:PORT",
    );
    refused(
        login_check("192.168.1.1:1883"),
        "--mqtt `192.168.1.1:1883`: plain MQTT to 192.168.1.1 would send the password in clear: \
         it is allowed only for a loopback host; use mqtts://",
    );
}

/// `burnline platform ARGS` with an AccessKey in the environment.
fn platform(t: &Test, args: &[&str]) -> Test {
    t.cmd()
        .env("HOME", t.path())
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAI5tTypedFlags")
        .env(
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
            "typedflagsaccesskeysecret0",
        )
        .arg("platform")
        .args(args)
}

#[test]
fn platform_takes_its_endpoint_product_key_and_device_name_by_their_rules() {
    let t = Test::new();
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    // Good values get as far as the (closed) OpenAPI.
    platform(&t, &["reset", PK, "gw-000001", "--endpoint", &endpoint])
        .status(4)
        .stderr_contains("ResetThing: connection refused")
        .run();
    refused(
        platform(&t, &["reset", PK, "gw-000001", "--endpoint", "http://10.0.0.1"]),
        "--endpoint `http://10.0.0.1`: plain http is taken only for a loopback host (a local emulator); the platform is https",
    );
    refused(
        platform(
            &t,
            &["reset", PK, "gw-000001", "--endpoint", "https://h/x?y"],
        ),
        "--endpoint `https://h/x?y`: give a host and optional port only, no path or query",
    );
    refused(
        platform(&t, &["delete", "a1X2bEnP8-z", "gw-000001", "--yes"]),
        "ProductKey `a1X2bEnP8-z`: must be letters and digits only",
    );
    refused(
        platform(&t, &["reset", PK, "gw 1"]),
        "DeviceName `gw 1`: may hold only A-Z a-z 0-9 - _ @ . : (found ' ')",
    );
    refused(
        platform(&t, &["create", "--product-key", "short", "--prefix", "gw-"])
            .args(["--count", "1", "--out", "n.csv"]),
        "--product-key `short`: must be 11 characters, found 5",
    );
    refused(
        platform(&t, &["state", "--devices", "d.csv", "--product-key", "x"]),
        "--product-key `x`: must be 11 characters, found 1",
    );
}

#[test]
fn pool_history_and_release_take_a_device_name_by_its_rule() {
    let t = Test::new();
    t.cmd()
        .args(["pool", "init", "--db", "sqlite:p.db", "--key-file", "p.key"])
        .run();
    t.cmd()
        .args(["pool", "history", "gw-0001", "--db", "sqlite:p.db"])
        .status(0)
        .run();
    refused(
        t.cmd()
            .args(["pool", "history", "gw", "--db", "sqlite:p.db"]),
        "DeviceName `gw`: must be 4 to 32 characters, found 2",
    );
    refused(
        t.cmd()
            .args(["pool", "release", "gw/0001", "--reason", "r"])
            .args(["--db", "sqlite:p.db"]),
        "DeviceName `gw/0001`: may hold only A-Z a-z 0-9 - _ @ . : (found '/')",
    );
    refused(
        t.cmd()
            .args(["pool", "release", "gw-0001", "--reason", "r"])
            .args(["--product-key", "short", "--db", "sqlite:p.db"]),
        "--product-key `short`: must be 11 characters, found 5",
    );
}

#[test]
fn the_bootstrap_takes_mqtt_by_the_same_rule() {
    let t = Test::bootstrap();
    let status = |mqtt: &str| {
        t.cmd().args([
            "status",
            "--device",
            "no.img",
            "--check-online",
            "--mqtt",
            mqtt,
        ])
    };
    // A good value is taken: the run gets as far as the missing device
    // (exit 5, storage).
    status("127.0.0.1:1883")
        .status(5)
        .stderr_contains("storage: opening no.img")
        .stderr_lacks("--mqtt")
        .run();
    refused(
        status("127.0.0.1"),
        "--mqtt `127.0.0.1`: expected HOST:PORT, mqtt://HOST:PORT or mqtts://HOST:PORT",
    );
    refused(
        t.cmd()
            .args(["run", "--device", "no.img", "--register-via", "mqtt"])
            .args(["--mqtt", "example.com:1883"]),
        "--mqtt `example.com:1883`: plain MQTT to example.com would send the password in clear: \
         it is allowed only for a loopback host; use mqtts://",
    );
}
