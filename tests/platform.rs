//! `burnline platform create|state|reset|delete` against the emulator's
//! OpenAPI listener (`--openapi`) over 127.0.0.1: devices created 50 a
//! page into the pool or an age file, a run killed after the ApplyId and
//! after the registration resumes and never creates anything twice, the
//! state of each device (ONLINE only while an MQTT session holds it), the
//! rework (reset, delete) noted in the pool's history with its chain
//! intact, credentials only from the environment or a 0600 profile, and
//! no AccessKey secret or DeviceSecret in any output or log line.
//! `the_whole_line_from_the_console_to_every_card_online` is the rehearsal
//! docs/platform.md shows, step by step.

mod common;

use common::emulator::{state_secrets, write_private};
use common::mqtt::connect_packet;
use common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The emulator's AccessKey.
const AK_ID: &str = "LTAI5tBurnlineTest01";
const AK_SECRET: &str = "Ak5ecretNeverPrinted0123456789ab";

/// The emulator with its MQTT and OpenAPI listeners; killed when dropped.
struct Platform {
    child: Child,
    openapi: String,
    mqtt: String,
    log: PathBuf,
    state: PathBuf,
}

impl Platform {
    /// Starts it for PK (一机一密, no devices yet) and the test AccessKey.
    fn start(dir: &Path) -> Self {
        let products = dir.join("products.yaml");
        write_private(
            &products,
            &format!(
                "access_keys:\n  - {{id: {AK_ID}, secret: {AK_SECRET}}}\nproducts:\n  - product_key: {PK}\n    product_secret: {PS}\n    dynamic_registration: true\n    devices: []\n"
            ),
        );
        let log = dir.join("emulator.log");
        let state = dir.join("emulator-state.json");
        let mut child = Command::new(burnline_bin())
            .args([
                "emulator",
                "--listen",
                "127.0.0.1:0",
                "--mqtt",
                "127.0.0.1:0",
            ])
            .args(["--openapi", "127.0.0.1:0", "--products"])
            .arg(&products)
            .arg("--state")
            .arg(&state)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(std::fs::File::create(&log).expect("log")))
            .spawn()
            .expect("spawn emulator");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout"));
        let (mut openapi, mut mqtt) = (None, None);
        while openapi.is_none() {
            let mut line = String::new();
            if lines.read_line(&mut line).expect("read") == 0 {
                panic!(
                    "emulator did not start: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            let at = line.trim().strip_prefix("listening on ").unwrap_or("");
            if let Some(u) = at.strip_prefix("openapi ") {
                openapi = Some(u.to_owned());
            } else if let Some(m) = at.strip_prefix("mqtt://") {
                mqtt = Some(m.to_owned());
            }
        }
        Platform {
            child,
            openapi: openapi.expect("openapi"),
            mqtt: mqtt.expect("mqtt"),
            log,
            state,
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// How many calls of `action` it answered.
    fn calls(&self, action: &str) -> usize {
        self.log_text()
            .lines()
            .filter(|l| l.starts_with(&format!("emulator: openapi {action} by ")))
            .count()
    }

    /// The DeviceSecret it issued to `dn`.
    fn secret(&self, dn: &str) -> String {
        state_secrets(&self.state)
            .into_iter()
            .find(|(n, _)| n == dn)
            .unwrap_or_else(|| panic!("{dn} has no secret"))
            .1
    }

    /// Logs `dn` in over MQTT with the secret the platform issued, and
    /// keeps the session (ONLINE while held).
    fn login(&self, dn: &str) -> TcpStream {
        self.login_with(dn, &self.secret(dn))
    }

    /// Logs `dn` in with `secret` (a card's) and keeps the session, as the
    /// edge runtime does.
    fn login_with(&self, dn: &str, secret: &str) -> TcpStream {
        use burnline_core::registration::mqtt::MqttCredentials;
        use burnline_core::registration::mqtt::SecureMode;
        use burnline_core::registration::sign::SignMethod;
        let secret = burnline_core::secret::Secret::new(secret.to_owned());
        let c = MqttCredentials::derive(
            PK,
            dn,
            &secret,
            SignMethod::HmacSha256,
            "1",
            "cn-shanghai",
            &SecureMode::Plain,
        );
        let mut s = TcpStream::connect(&self.mqtt).expect("connect mqtt");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        s.write_all(&connect_packet(
            &c.client_id,
            &c.username,
            c.password.expose(),
            60,
        ))
        .expect("send CONNECT");
        let mut connack = [0u8; 4];
        s.read_exact(&mut connack).expect("CONNACK");
        assert_eq!(connack, [0x20, 2, 0, 0], "{dn} was refused");
        s
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `burnline platform ARGS --endpoint OPENAPI` with the AccessKey in the
/// environment and HOME in the temp dir.
fn platform(t: &Test, p: &Platform, args: &[&str]) -> Test {
    t.burnline()
        .env("HOME", t.path())
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", AK_ID)
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", AK_SECRET)
        .arg("platform")
        .args(args)
        .args(["--endpoint", &p.openapi])
        .output_lacks(AK_SECRET)
}

/// An X25519 identity made by `age-keygen` (mode 0600), and its recipient.
fn age_identity(t: &Test) -> (PathBuf, String) {
    let path = t.path().join("station.key");
    t.tool("age-keygen").args(["-o", s(&path)]).run();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let text = std::fs::read_to_string(&path).expect("identity");
    let r = text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .expect("public key")
        .to_owned();
    (path, r)
}

/// No secret the emulator issued, and not the AccessKey secret, in `text`.
fn no_secrets(p: &Platform, text: &str) {
    assert!(!text.contains(AK_SECRET), "the AccessKey secret leaked");
    for (dn, ds) in state_secrets(&p.state) {
        assert!(!text.contains(&ds), "the DeviceSecret of {dn} leaked");
    }
}

fn pool_init(t: &Test) -> String {
    let url = format!("sqlite:{}", t.path().join("pool.db").display());
    t.burnline()
        .args(["pool", "init", "--db", &url, "--key-file", "pool.key"])
        .run();
    url
}

#[test]
fn create_takes_the_certificates_into_the_pool_50_a_page() {
    let t = Test::new();
    let p = Platform::start(t.path());
    let url = pool_init(&t);
    let o = platform(
        &t,
        &p,
        &[
            "create",
            "--product-key",
            PK,
            "--prefix",
            "gw-",
            "--count",
            "120",
        ],
    )
    .args(["--pool", &url, "--key-file", "pool.key"])
    .stderr_contains("certificates 50 of 120 (page 1 of 3)")
    .stderr_contains("certificates 120 of 120 (page 3 of 3)")
    .stderr_contains("120 identit(ies) added, 0 already in the pool")
    .run();
    assert_eq!(p.calls("QueryPageByApplyId"), 3, "{}", p.log_text());
    assert_eq!(p.calls("BatchCheckDeviceNames"), 1);
    assert_eq!(p.calls("BatchRegisterDeviceWithApplyId"), 1);
    // The pool holds exactly the secrets the platform issued.
    let export = t
        .burnline()
        .args([
            "pool",
            "export",
            "--db",
            &url,
            "--format",
            "json",
            "--reveal-secrets",
            "--key-file",
            "pool.key",
        ])
        .run();
    let rows: serde_json::Value = serde_json::from_str(&export.stdout).expect("json");
    let rows = rows.as_array().expect("array");
    assert_eq!(rows.len(), 120);
    for r in rows {
        let dn = r["device_name"].as_str().expect("dn");
        assert_eq!(
            r["device_secret"].as_str(),
            Some(p.secret(dn).as_str()),
            "{dn}"
        );
        assert_eq!(r["state"], "available");
    }
    assert!(rows.iter().any(|r| r["device_name"] == "gw-000120"));
    no_secrets(&p, &o.text());
    no_secrets(&p, &p.log_text());
    // No plaintext secret on disk beside the pool: the journal holds none.
    let journal =
        std::fs::read_to_string(t.path().join(format!("platform-create-{PK}.apply.json")))
            .expect("journal");
    assert!(journal.contains("\"phase\": \"done\""), "{journal}");
    no_secrets(&p, &journal);
    // The next batch into the same pool starts afresh: the finished
    // batch's journal is replaced.
    platform(
        &t,
        &p,
        &[
            "create",
            "--product-key",
            PK,
            "--prefix",
            "gx-",
            "--count",
            "2",
        ],
    )
    .args(["--pool", &url, "--key-file", "pool.key"])
    .stderr_contains("2 identit(ies) added")
    .run();
    assert_eq!(p.calls("BatchCheckDeviceNames"), 2);
}

#[test]
fn a_killed_create_resumes_by_its_apply_id_and_never_creates_twice() {
    let t = Test::new();
    let p = Platform::start(t.path());
    let (key, recipient) = age_identity(&t);
    let create = || {
        platform(
            &t,
            &p,
            &[
                "create",
                "--product-key",
                PK,
                "--prefix",
                "lc-",
                "--count",
                "7",
            ],
        )
        .args(["--out", "devices.csv.age", "--recipient", &recipient])
    };
    // Killed right after the ApplyId was recorded: nothing registered yet.
    create()
        .failpoints("platform-create-after-check=return")
        .signal(6)
        .run();
    assert_eq!(p.calls("BatchRegisterDeviceWithApplyId"), 0);
    assert!(!t.path().join("devices.csv.age").exists());
    // Another batch may not take over the unfinished one's journal.
    platform(
        &t,
        &p,
        &[
            "create",
            "--product-key",
            PK,
            "--prefix",
            "zz-",
            "--count",
            "2",
        ],
    )
    .args(["--out", "devices.csv.age", "--recipient", &recipient])
    .status(2)
    .stderr_contains("of another batch")
    .run();
    assert_eq!(p.calls("BatchCheckDeviceNames"), 1);
    // Killed right after the registration was sent, before it was recorded.
    create()
        .failpoints("platform-create-after-register=return")
        .signal(6)
        .stderr_contains("resuming ApplyId")
        .run();
    assert_eq!(p.calls("BatchRegisterDeviceWithApplyId"), 1);
    // The rerun sees CREATE_SUCCESS and only fetches the certificates.
    create()
        .stderr_contains("resuming ApplyId")
        .stderr_contains("devices.csv.age: 7 certificate(s), age-encrypted")
        .run();
    assert_eq!(p.calls("BatchCheckDeviceNames"), 1, "{}", p.log_text());
    assert_eq!(
        p.calls("BatchRegisterDeviceWithApplyId"),
        1,
        "{}",
        p.log_text()
    );
    // The age file is the console's certificate download, for the recipient.
    let plain = t
        .tool("age")
        .args(["-d", "-i", s(&key), "devices.csv.age"])
        .run()
        .stdout;
    let mut lines = plain.lines();
    assert_eq!(lines.next(), Some("DeviceName,DeviceSecret,ProductKey"));
    assert_eq!(
        lines.next().map(str::to_owned),
        Some(format!("lc-000001,{},{PK}", p.secret("lc-000001")))
    );
    assert_eq!(plain.lines().count(), 8);
    // `platform state` reads the age file as it is, with the identity.
    platform(
        &t,
        &p,
        &[
            "state",
            "--devices",
            "devices.csv.age",
            "--identity",
            s(&key),
        ],
    )
    .status(1)
    .stdout_contains("ONLINE 0, OFFLINE 0, UNACTIVE 7, DISABLE 0, MISSING 0")
    .run();
    // Without a recipient nothing is created: no secret in clear on disk.
    platform(
        &t,
        &p,
        &[
            "create",
            "--product-key",
            PK,
            "--prefix",
            "x-",
            "--count",
            "3",
            "--out",
            "x.csv",
        ],
    )
    .status(2)
    .stderr_contains("give --recipient")
    .run();
    assert_eq!(p.calls("BatchCheckDeviceNames"), 1);
    // Names the platform has already: refused, named, nothing created.
    platform(
        &t,
        &p,
        &[
            "create",
            "--product-key",
            PK,
            "--prefix",
            "lc-",
            "--count",
            "2",
        ],
    )
    .args(["--out", "again.csv.age", "--recipient", &recipient])
    .status(2)
    .stderr_contains("lc-000001")
    .run();
    assert!(!t.path().join("again.csv.age").exists());
    no_secrets(&p, &p.log_text());
}

#[test]
fn state_prints_each_device_and_succeeds_only_when_all_are_online() {
    let t = Test::new();
    let p = Platform::start(t.path());
    let names = "DeviceName\nst-0001\nst-0002\nst-0003\n";
    let t = t.file("names.csv", names);
    platform(
        &t,
        &p,
        &["create", "--product-key", PK, "--names", "names.csv"],
    )
    .args(["--auth-mode", "product-secret", "--out", "created.csv"])
    .run();
    // 一型一密: the names only, no certificate fetched.
    assert_eq!(
        std::fs::read_to_string(t.path().join("created.csv")).expect("csv"),
        format!("DeviceName,ProductKey\nst-0001,{PK}\nst-0002,{PK}\nst-0003,{PK}\n")
    );
    assert_eq!(p.calls("QueryPageByApplyId"), 0);
    let state = || platform(&t, &p, &["state", "--devices", "created.csv"]);
    state()
        .status(1)
        .stdout(format!(
            "{PK}/st-0001 UNACTIVE\n{PK}/st-0002 UNACTIVE\n{PK}/st-0003 UNACTIVE\nONLINE 0, OFFLINE 0, UNACTIVE 3, DISABLE 0, MISSING 0\n"
        ))
        .stderr_contains("3 of 3 device(s) are not ONLINE")
        .run();
    // One online, one that logged in and left, one never seen.
    let held = p.login("st-0001");
    drop(p.login("st-0002"));
    std::thread::sleep(Duration::from_millis(500));
    let o = state().arg("--json").status(1).run();
    let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("json");
    let status: Vec<&str> = v["devices"]
        .as_array()
        .expect("devices")
        .iter()
        .map(|d| d["status"].as_str().expect("status"))
        .collect();
    assert_eq!(status, ["ONLINE", "OFFLINE", "UNACTIVE"], "{}", o.stdout);
    assert_eq!(v["counts"]["ONLINE"], 1);
    assert_eq!(v["all_online"], false);
    // --wait-online: the others come online while it waits.
    let waiting = state().args(["--wait-online", "60s"]).spawn();
    std::thread::sleep(Duration::from_secs(2));
    let _two = p.login("st-0002");
    let _three = p.login("st-0003");
    let o = waiting.wait_within(Duration::from_secs(60));
    assert_eq!(o.code(), Some(0), "{}", o.text());
    assert!(
        o.stdout
            .ends_with("ONLINE 3, OFFLINE 0, UNACTIVE 0, DISABLE 0, MISSING 0\n"),
        "{}",
        o.stdout
    );
    drop(held);
    no_secrets(&p, &p.log_text());
}

#[test]
fn reset_and_delete_are_noted_in_the_pool_and_delete_asks_first() {
    let t = Test::new();
    let p = Platform::start(t.path());
    let url = pool_init(&t);
    platform(
        &t,
        &p,
        &[
            "create",
            "--product-key",
            PK,
            "--prefix",
            "rw-",
            "--count",
            "2",
        ],
    )
    .args(["--pool", &url, "--key-file", "pool.key"])
    .run();
    platform(&t, &p, &["reset", PK, "rw-000001", "--pool", &url])
        .stderr_contains("rw-000001: reset; it may register again")
        .stderr_contains("noted in")
        .run();
    assert_eq!(p.calls("ResetThing"), 1);
    // Unattended delete without --yes: refused, nothing sent.
    platform(&t, &p, &["delete", PK, "rw-000002", "--pool", &url])
        .status(2)
        .stderr_contains("refusing to delete without --yes")
        .run();
    assert_eq!(p.calls("DeleteDevice"), 0);
    platform(
        &t,
        &p,
        &["delete", PK, "rw-000002", "--yes", "--pool", &url],
    )
    .stderr_contains("rw-000002: deleted")
    .run();
    assert_eq!(p.calls("DeleteDevice"), 1);
    // The deleted device is gone from the platform.
    let t2 = t.clone().file(
        "rw.csv",
        format!("ProductKey,DeviceName\n{PK},rw-000001\n{PK},rw-000002\n"),
    );
    platform(&t2, &p, &["state", "--devices", "rw.csv"])
        .status(1)
        .stdout_contains(format!("{PK}/rw-000002 MISSING"))
        .run();
    // Deleting it again: the platform's refusal, exit 3.
    platform(&t, &p, &["delete", PK, "rw-000002", "--yes"])
        .status(3)
        .stderr_contains("iot.device.NotExistedDevice")
        .run();
    let history = t
        .burnline()
        .args(["pool", "history", "--db", &url])
        .run()
        .stdout;
    assert!(
        history.contains("platform: reset (ResetThing)"),
        "{history}"
    );
    assert!(
        history.contains("platform: deleted (DeleteDevice)"),
        "{history}"
    );
    // The notes keep the history's hash chain whole.
    t.burnline().args(["pool", "verify", "--db", &url]).run();
}

#[test]
fn credentials_come_only_from_the_environment_or_a_private_profile() {
    let t = Test::new();
    let p = Platform::start(t.path());
    let bare = || {
        t.burnline()
            .env("HOME", t.path())
            .env_remove("ALIBABA_CLOUD_ACCESS_KEY_ID")
            .env_remove("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
            .env_remove("ALIBABA_CLOUD_PROFILE")
            .args([
                "platform",
                "reset",
                PK,
                "gw-000001",
                "--endpoint",
                &p.openapi,
            ])
    };
    bare().status(2).stderr_contains("no AccessKey").run();
    bare()
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", AK_ID)
        .status(2)
        .stderr_contains("ALIBABA_CLOUD_ACCESS_KEY_SECRET is not")
        .run();
    // The aliyun CLI's profile: refused while others may read it.
    let dir = t.path().join(".aliyun");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let config = dir.join("config.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"current":"default","profiles":[{{"name":"default","mode":"AK","access_key_id":"{AK_ID}","access_key_secret":"wrongSecretForTheTest","region_id":"cn-shanghai"}},{{"name":"line","mode":"AK","access_key_id":"{AK_ID}","access_key_secret":"{AK_SECRET}","region_id":"cn-shanghai"}}]}}"#
        ),
    )
    .expect("write");
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    bare()
        .args(["--profile", "line"])
        .status(2)
        .stderr_contains("chmod 600")
        .output_lacks(AK_SECRET)
        .run();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    // The current profile has a wrong secret: the gateway refuses, exit 3.
    bare()
        .status(3)
        .stderr_contains("SignatureDoesNotMatch")
        .output_lacks("wrongSecretForTheTest")
        .run();
    // The named profile signs right: the call reaches the API.
    bare()
        .args(["--profile", "line"])
        .status(3)
        .stderr_contains("iot.device.NotExistedDevice")
        .output_lacks(AK_SECRET)
        .run();
    bare()
        .args(["--profile", "nope"])
        .status(2)
        .stderr_contains("no profile `nope` (it has: default, line)")
        .run();
    // No option takes a secret.
    bare()
        .args(["--access-key-secret", AK_SECRET])
        .status(2)
        .run();
    no_secrets(&p, &p.log_text());
}

#[test]
fn plain_http_only_to_a_loopback_host_and_bad_input_is_one_line() {
    let t = Test::new().file("names.txt", "gw-000001\nno\ngw-000001\n");
    let base = || {
        t.burnline()
            .env("HOME", t.path())
            .env("ALIBABA_CLOUD_ACCESS_KEY_ID", AK_ID)
            .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", AK_SECRET)
            .arg("platform")
    };
    base()
        .args([
            "reset",
            PK,
            "gw-000001",
            "--endpoint",
            "http://192.0.2.1:80",
        ])
        .status(2)
        .stderr_contains("plain http is taken only for a loopback host")
        .run();
    base()
        .args(["reset", PK, "gw-000001"])
        .env_remove("ALIBABA_CLOUD_REGION_ID")
        .status(2)
        .stderr_contains("no region")
        .run();
    base()
        .args(["reset", "bad", "gw-000001", "--region", "cn-shanghai"])
        .status(2)
        .stderr_contains("ProductKey `bad`: must be 11 characters")
        .run();
    base()
        .args([
            "create",
            "--product-key",
            PK,
            "--names",
            "names.txt",
            "--pool",
            "sqlite:x.db",
            "--key-file",
            "k",
        ])
        .args(["--endpoint", "http://127.0.0.1:9"])
        .status(2)
        .error_line("names.txt:2: DeviceName:")
        .run();
    // A missing input file is exit 2, as on every command.
    base()
        .args([
            "create",
            "--product-key",
            PK,
            "--names",
            "no.txt",
            "--out",
            "n.csv",
        ])
        .args([
            "--auth-mode",
            "product-secret",
            "--endpoint",
            "http://127.0.0.1:9",
        ])
        .status(2)
        .stderr_contains("no.txt")
        .run();
    base()
        .args([
            "state",
            "--devices",
            "no.csv",
            "--endpoint",
            "http://127.0.0.1:9",
        ])
        .status(2)
        .stderr_contains("no.csv")
        .run();
    // Nothing listens: exit 4, named.
    base()
        .args(["reset", PK, "gw-000001", "--endpoint", "http://127.0.0.1:9"])
        .status(4)
        .stderr_contains("ResetThing: connection refused")
        .run();
}

/// The tiny recipe of PK: a 256 KiB GPT card holding only a credentials
/// partition.
const TINY: &str =
    "disk: {size: 256KiB, table: gpt, alignment: 4KiB, seed: 0123456789abcdef0123456789abcdef}\n\
     partitions:\n  - {name: creds, size: fill, credentials: {}}\n\
     auth: {mode: device-secret, product_key: a1X2bEnP82z}\n";

/// The card's triple, as `inspect --reveal-secrets` reads it.
fn card_triple(t: &Test, card: &Path) -> (String, String) {
    let c = common::images::inspect_json(t, card, true)["credentials"].clone();
    (
        c["device_name"].as_str().expect("device_name").to_owned(),
        c["device_secret"]
            .as_str()
            .expect("device_secret")
            .to_owned(),
    )
}

#[test]
fn the_whole_line_from_the_console_to_every_card_online() {
    let t = Test::new().file("tiny.yaml", TINY);
    let p = Platform::start(t.path());
    let url = pool_init(&t);
    // 1. The console's step 1: create the devices into the pool.
    platform(
        &t,
        &p,
        &[
            "create",
            "--product-key",
            PK,
            "--prefix",
            "gw-",
            "--count",
            "4",
        ],
    )
    .args(["--pool", &url, "--key-file", "pool.key"])
    .run();
    // 2. A station burns four cards from the pool.
    let cards: Vec<PathBuf> = (1..=4)
        .map(|i| t.path().join(format!("card{i}.img")))
        .collect();
    let mut flash = t
        .burnline()
        .args([
            "flash",
            "--pool",
            &url,
            "--recipe",
            "tiny.yaml",
            "--station",
            "st1",
        ])
        .args(["--key-file", "pool.key"]);
    for c in &cards {
        flash = flash.args(["--target", s(c)]);
    }
    flash.run();
    // 3. Three cards boot: the bootstrap checks the login, the edge
    // runtime (played by a held MQTT session with the card's triple) stays
    // connected. The fourth card is pulled before its first boot.
    let mut held = Vec::new();
    for c in &cards[..3] {
        t.cmd()
            .program(bootstrap_bin())
            .args([
                "status",
                "--device",
                s(c),
                "--check-online",
                "--mqtt",
                &p.mqtt,
            ])
            .stdout_contains("online")
            .run();
        let (dn, ds) = card_triple(&t, c);
        held.push(p.login_with(&dn, &ds));
    }
    let (pulled, _) = card_triple(&t, &cards[3]);
    // 4. The last step: the pool's verified cards, three ONLINE, the pulled
    // one never seen (exit 1).
    platform(&t, &p, &["state", "--pool", &url])
        .status(1)
        .stdout_contains("ONLINE 3, OFFLINE 0, UNACTIVE 1, DISABLE 0, MISSING 0")
        .stdout_contains(format!("{PK}/{pulled} UNACTIVE"))
        .stderr_contains("3 identit(ies) noted ONLINE")
        .run();
    // 5. The pulled card's rework: reset on the platform, re-burned onto a
    // new card from its image, booted; then every verified card is ONLINE.
    platform(&t, &p, &["reset", PK, &pulled, "--pool", &url]).run();
    let rework = t.path().join("card4-rework.img");
    t.burnline()
        .args(["flash", s(&cards[3]), "--target", s(&rework)])
        .run();
    t.cmd()
        .program(bootstrap_bin())
        .args([
            "status",
            "--device",
            s(&rework),
            "--check-online",
            "--mqtt",
            &p.mqtt,
        ])
        .run();
    let (dn, ds) = card_triple(&t, &rework);
    assert_eq!(dn, pulled);
    held.push(p.login_with(&dn, &ds));
    let o = platform(&t, &p, &["state", "--pool", &url, "--wait-online", "30s"])
        .stdout_contains("ONLINE 4, OFFLINE 0, UNACTIVE 0, DISABLE 0, MISSING 0")
        .stderr_contains(": 1 identit(ies) noted ONLINE")
        .run();
    no_secrets(&p, &o.text());
    no_secrets(&p, &p.log_text());
    let history = t
        .burnline()
        .args(["pool", "history", "--db", &url])
        .run()
        .stdout;
    assert_eq!(history.matches("platform: ONLINE").count(), 4, "{history}");
    assert!(
        history.contains("platform: reset (ResetThing)"),
        "{history}"
    );
    t.burnline().args(["pool", "verify", "--db", &url]).run();
    // The day's record shows each card's platform state.
    let report = t
        .burnline()
        .args(["station", "report", "--db", &url, "--since", "0"])
        .run()
        .stdout;
    let mut lines = report.lines();
    assert!(
        lines
            .next()
            .expect("header")
            .ends_with(",reason,platform_state"),
        "{report}"
    );
    let states: Vec<&str> = lines.map(|l| l.rsplit(',').next().expect("cell")).collect();
    assert_eq!(states, ["ONLINE"; 4], "{report}");
    drop(held);
}

/// The request lines a [`throttling_gateway`] saw.
type Seen = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// A gateway that answers `Throttling.User` (HTTP 400, as the POP gateway
/// does) `throttled` times, then success; returns its address and the
/// request lines it saw.
fn throttling_gateway(throttled: usize) -> (String, Seen) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let at = listener.local_addr().expect("addr").to_string();
    let seen: Seen = Default::default();
    let lines = std::sync::Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut length = 0;
            let mut first = String::new();
            let _ = reader.read_line(&mut first);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let n = {
                let mut l = lines.lock().expect("lock");
                l.push(first.trim().to_owned());
                l.len() - 1
            };
            let (status, answer) = if n < throttled {
                (
                    "400 Bad Request",
                    r#"{"RequestId":"R1","HostId":"iot.cn-shanghai.aliyuncs.com","Code":"Throttling.User","Message":"Request was denied due to user flow control.","Recommend":"https://error-center.aliyun.com"}"#,
                )
            } else {
                ("200 OK", r#"{"RequestId":"R2","Success":true}"#)
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (format!("http://{at}"), seen)
}

#[test]
fn throttling_is_retried_with_backoff_and_bounded() {
    let t = Test::new();
    let run = |endpoint: &str| {
        t.burnline()
            .env("HOME", t.path())
            .env("ALIBABA_CLOUD_ACCESS_KEY_ID", AK_ID)
            .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", AK_SECRET)
            .args(["platform", "reset", PK, "gw-000001", "--endpoint", endpoint])
            .output_lacks(AK_SECRET)
    };
    // Twice throttled, then through: two retries, each said.
    let (url, seen) = throttling_gateway(2);
    run(&url)
        .args(["--instance", "iot-06z00abc"])
        .stderr_contains("ResetThing: throttled by the platform (Throttling), try 2 of 6")
        .stderr_contains("try 3 of 6")
        .stderr_contains("gw-000001: reset")
        .run();
    let lines = seen.lock().expect("lock").clone();
    assert_eq!(lines.len(), 3);
    // The parameters in the query, the instance with them (the signature
    // and the action travel in headers, V3).
    assert_eq!(
        lines[0],
        format!("POST /?DeviceName=gw-000001&IotInstanceId=iot-06z00abc&ProductKey={PK} HTTP/1.1")
    );
    // Always throttled: six tries in all, then exit 3 with the code.
    let (url, seen) = throttling_gateway(usize::MAX);
    run(&url)
        .status(3)
        .stderr_contains("ResetThing: refused: Throttling.User: Request was denied due to user flow control. (RequestId R1)")
        .run_within(Duration::from_secs(120));
    assert_eq!(seen.lock().expect("lock").len(), 6);
}
