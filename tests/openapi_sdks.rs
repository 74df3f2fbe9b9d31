//! The emulator's OpenAPI listener (`--openapi`, docs/openapi-emulator.md) against Alibaba's own
//! Python SDKs on 127.0.0.1, installed by scripts/test-clients.sh:
//! alibabacloud-iot20180120 (Tea, signature V3, and V1 with
//! `signature_algorithm="v2"`) and aliyun-python-sdk-iot with
//! aliyun-python-sdk-core (V1), driven by tests/clients/openapi_client.py.
//! Each SDK creates 60 devices (BatchCheckDeviceNames,
//! BatchRegisterDeviceWithApplyId, QueryBatchRegisterDeviceStatus),
//! pages through them 50 at a time (QueryPageByApplyId), reads their
//! states (BatchGetDeviceState) while a created device logs in over MQTT
//! with its returned secret and leaves, resets one (ResetThing: it may
//! register again and stays activated) and deletes others (DeleteDevice: an
//! online one is kicked, and its certificate no longer logs in). The
//! gateway refuses a bad signature, an unknown AccessKey, a reused nonce and
//! a stale timestamp with its 4xx and Code. The SDKs and `burnline
//! platform` see the same states and each other's deletions. No AccessKey
//! secret and no DeviceSecret reaches the emulator's log.

mod common;

use common::emulator::write_private;
use common::mqtt::{connect_packet, python, MqttEmulator};
use common::*;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

const CLIENT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/clients/openapi_client.py"
);
const AK_ID: &str = "LTAI5tOpenApiTestKey";
const AK_SECRET: &str = "Tq9vOpenApiTestSecret7fK2mXw4Rz";

/// A products file with an AccessKey, PK (switch on) and one device made
/// in the console beforehand.
fn products(dir: &Path) -> PathBuf {
    let p = dir.join("products.yaml");
    write_private(
        &p,
        &format!(
            "access_keys:\n  - {{id: {AK_ID}, secret: {AK_SECRET}}}\nproducts:\n  - product_key: {PK}\n    product_secret: {PS}\n    devices: [console1]\n"
        ),
    );
    p
}

fn start(t: &Test) -> (MqttEmulator, String) {
    let emu = MqttEmulator::start(
        t.path(),
        &products(t.path()),
        None,
        &["--openapi", "127.0.0.1:0"],
    );
    let at = emu.openapi.clone().expect("the OpenAPI listener's address");
    (emu, at)
}

/// openapi_client.py with `sdk` against `at`; the AccessKey secret in a
/// file (a failed run's report shows the environment).
fn sdk(t: &Test, sdk: &str, at: &str, args: &[&str]) -> Test {
    let secret = t.path().join("ak.secret");
    write_private(&secret, AK_SECRET);
    python(t, Path::new(CLIENT))
        .env("OPENAPI_AK_ID", AK_ID)
        .env("OPENAPI_AK_SECRET_FILE", &secret)
        .args([sdk, at])
        .args(args)
}

/// devices.csv as the client wrote it: DeviceName → (DeviceSecret, IotId).
fn created(path: &Path) -> HashMap<String, (String, String)> {
    let text = std::fs::read_to_string(path).expect("devices.csv");
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.trim_end().split(',').collect();
            (f[0].to_owned(), (f[1].to_owned(), f[2].to_owned()))
        })
        .collect()
}

/// An MQTT login of `dn` with `ds` (plain TCP, securemode 3); the stream
/// and the CONNACK code.
fn login(t: &Test, emu: &MqttEmulator, dn: &str, ds: &str) -> (TcpStream, u8) {
    let secret = t.path().join(format!("{dn}.secret"));
    write_private(&secret, ds);
    let out = t
        .burnline()
        .args(["mqtt-credentials", "--product-key", PK, "--device-name", dn])
        .arg("--device-secret-file")
        .arg(&secret)
        .arg("--plain")
        .run()
        .stdout;
    let get = |k: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}: ")))
            .expect("field")
            .to_owned()
    };
    let mut s = TcpStream::connect(&emu.mqtt).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(&connect_packet(
        &get("clientId"),
        &get("username"),
        &get("password"),
        60,
    ))
    .expect("CONNECT");
    let mut ack = [0u8; 4];
    s.read_exact(&mut ack).expect("CONNACK");
    assert_eq!(&ack[..3], &[0x20, 0x02, 0x00], "not a CONNACK: {ack:?}");
    (s, ack[3])
}

/// The whole life of devices through one SDK.
fn lifecycle(name: &str) {
    let t = Test::new();
    let (emu, at) = start(&t);
    let csv = t.path().join("devices.csv");
    sdk(&t, name, &at, &["create", PK, "gw-", "60", common::s(&csv)])
        .stdout_contains("repeated 0")
        .stdout_contains("register Success")
        .stdout_contains("status CREATE_SUCCESS")
        .stdout_contains("page 1 50 of 2 total 60")
        .stdout_contains("page 2 10 of 2 total 60")
        .stdout_contains("page-size-51 iot.common.InvalidPageParams")
        .stdout_contains("created 60 distinct 60")
        .run();
    let devices = created(&csv);
    assert_eq!(devices.len(), 60);
    let (ds1, iot1) = devices["gw-0001"].clone();
    assert_eq!(ds1.len(), 32);

    // A check with a bad name, a taken one and a repeated one fails, and
    // nothing is created from it.
    sdk(
        &t,
        name,
        &at,
        &["check", PK, "new-0001", "x", "gw-0001", "new-0001"],
    )
    .stdout_contains("invalid x\n")
    .stdout_contains("repeated gw-0001 new-0001\n")
    .stdout_contains("details 3")
    .stdout_contains("status CHECK_FAILED valid new-0001\n")
    .stdout_contains("invalid-list x gw-0001 new-0001\n")
    .stdout_contains("register iot.device.IncorrentDeviceApplyInfo")
    .run();
    sdk(&t, name, &at, &["states", PK, "new-0001"])
        .stdout("")
        .run();

    // Created, never connected: UNACTIVE; unknown names are left out.
    sdk(
        &t,
        name,
        &at,
        &["states", PK, "gw-0001", "console1", "nobody"],
    )
    .stdout("gw-0001 UNACTIVE never\nconsole1 UNACTIVE never\n")
    .run();
    let many: Vec<String> = (1..=51).map(|i| format!("gw-{i:04}")).collect();
    let mut args = vec!["states", PK];
    args.extend(many.iter().map(String::as_str));
    sdk(&t, name, &at, &args)
        .stdout("states iot.common.InvalidFormattedParameter\n")
        .run();

    // The created device logs in with the secret the API returned: ONLINE,
    // then OFFLINE after its DISCONNECT.
    let (mut conn, code) = login(&t, &emu, "gw-0001", &ds1);
    assert_eq!(code, 0, "{}", emu.log_text());
    sdk(&t, name, &at, &["states", PK, "gw-0001", "gw-0002"])
        .stdout("gw-0001 ONLINE last-online\ngw-0002 UNACTIVE never\n")
        .run();
    conn.write_all(&[0xE0, 0x00]).expect("DISCONNECT");
    emu.wait_online("gw-0001", false);
    sdk(&t, name, &at, &["states-id", &iot1])
        .stdout("gw-0001 OFFLINE last-online\n")
        .run();

    // Activated: dynamic registration is refused until ResetThing, which
    // reopens it and leaves the device activated (OFFLINE, not UNACTIVE).
    t.burnline()
        .args(["register", PK, "gw-0001", PS, "--endpoint", &emu.url])
        .status(3)
        .stderr_contains("6289")
        .run();
    sdk(&t, name, &at, &["reset", PK, "gw-0001"])
        .stdout("reset Success\n")
        .run();
    sdk(&t, name, &at, &["states", PK, "gw-0001"])
        .stdout("gw-0001 OFFLINE last-online\n")
        .run();
    // (The new secret is printed, so the output is only shown if the
    // registration was refused.)
    t.burnline()
        .args(["register", PK, "gw-0001", PS, "--endpoint", &emu.url])
        .stdout_contains(format!("DeviceInfo: {PK} gw-0001 "))
        .run();
    let d = emu.device("gw-0001");
    assert!(d.activated && d.secrets_issued == 2, "{d:?}");
    // Once: the next registration needs another reset.
    t.burnline()
        .args(["register", PK, "gw-0001", PS, "--endpoint", &emu.url])
        .status(3)
        .stderr_contains("6289")
        .run();
    sdk(&t, name, &at, &["reset", PK, "nobody-1"])
        .stdout("reset iot.device.NotExistedDevice\n")
        .run();

    // DeleteDevice by IotId: gone for good, its certificate refused.
    let (ds2, iot2) = devices["gw-0002"].clone();
    sdk(&t, name, &at, &["delete-id", &iot2])
        .stdout("delete Success\n")
        .run();
    assert_eq!(login(&t, &emu, "gw-0002", &ds2).1, 5);
    sdk(&t, name, &at, &["states", PK, "gw-0002", "gw-0003"])
        .stdout("gw-0003 UNACTIVE never\n")
        .run();
    sdk(&t, name, &at, &["delete-id", &iot2])
        .stdout("delete iot.device.NotExistedDevice\n")
        .run();

    // DeleteDevice of an online device by name: its connection is closed.
    let (mut conn, code) = login(&t, &emu, "gw-0003", &devices["gw-0003"].0);
    assert_eq!(code, 0);
    sdk(&t, name, &at, &["delete", PK, "gw-0003"])
        .stdout("delete Success\n")
        .run();
    let mut buf = [0u8; 8];
    assert_eq!(conn.read(&mut buf).expect("closed"), 0, "still connected");

    // A deleted name may be created again, with a new IotId.
    sdk(&t, name, &at, &["check", PK, "gw-0002", "gw-0003"])
        .stdout_contains("status CHECK_SUCCESS valid\n")
        .stdout_contains("register Success")
        .run();
    sdk(&t, name, &at, &["states", PK, "gw-0002"])
        .stdout("gw-0002 UNACTIVE never\n")
        .run();
    sdk(&t, name, &at, &["states-id", &iot2]).stdout("").run();

    let log = emu.log_text();
    assert!(
        log.contains(&format!("openapi BatchGetDeviceState by {AK_ID}: Success")),
        "{log}"
    );
    assert!(
        !log.contains(AK_SECRET),
        "the AccessKey secret is in the log"
    );
    for (dn, (ds, _)) in &devices {
        assert!(
            !log.contains(ds.as_str()),
            "{dn}'s DeviceSecret is in the log"
        );
    }
}

#[test]
fn tea_sdk_v3_creates_pages_reads_resets_and_deletes() {
    lifecycle("tea");
}

#[test]
fn tea_sdk_v1_creates_pages_reads_resets_and_deletes() {
    lifecycle("tea-v2");
}

#[test]
fn old_sdk_v1_creates_pages_reads_resets_and_deletes() {
    lifecycle("old");
}

/// The gateway's refusals as each SDK sees them.
#[test]
fn bad_signature_unknown_key_reused_nonce_and_stale_timestamp_are_refused() {
    let t = Test::new();
    let (emu, at) = start(&t);
    for name in ["tea", "tea-v2"] {
        sdk(&t, name, &at, &["refusals", PK])
            .stdout(
                "bad-signature 400 SignatureDoesNotMatch\n\
                 unknown-access-key 400 InvalidAccessKeyId.NotFound\n\
                 first-use-of-nonce Success\n\
                 reused-nonce 400 SignatureNonceUsed\n\
                 stale-timestamp 400 InvalidTimeStamp.Expired\n",
            )
            .run();
    }
    // The old core compares the server's string to sign with its own and,
    // when they are equal, says the secret is wrong: the emulator's
    // canonicalisation is the SDK's.
    sdk(&t, "old", &at, &["refusals", PK])
        .stdout(
            "bad-signature 400 InvalidAccessKeySecret\n\
             unknown-access-key 400 InvalidAccessKeyId.NotFound\n\
             first-use-of-nonce Success\n\
             reused-nonce 400 SignatureNonceUsed\n\
             stale-timestamp 400 InvalidTimeStamp.Expired\n",
        )
        .run();
    assert!(!emu.log_text().contains(AK_SECRET));
}

/// The gateway's body, read raw: every field the SDKs read, 4xx, JSON.
#[test]
fn gateway_refusal_body_missing_signature_and_unknown_api() {
    let t = Test::new();
    let (_emu, at) = start(&t);
    let stamp = burnline_core::openapi::timestamp::now();
    let now = stamp.replace(':', "%3A");
    let query = |action: &str, nonce: &str| {
        format!("/?Action={action}&Version=2018-01-20&Format=JSON&AccessKeyId={AK_ID}&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&SignatureNonce={nonce}&Timestamp={now}&Signature=AAAA")
    };
    let (status, body) =
        common::http::request(&at, "POST", &query("BatchGetDeviceState", "n1"), &[]);
    assert_eq!(status, 400, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["Code"], "SignatureDoesNotMatch");
    assert_eq!(v["HostId"], at.as_str());
    for k in ["RequestId", "Message", "Recommend"] {
        assert!(v[k].as_str().is_some_and(|s| !s.is_empty()), "{k}: {v}");
    }
    assert!(
        v["Message"]
            .as_str()
            .is_some_and(|m| m.contains("server string to sign is:POST&%2F&AccessKeyId%3D")),
        "{v}"
    );
    // No signature at all.
    let (status, body) = common::http::request(&at, "POST", "/?Action=ResetThing", &[]);
    assert_eq!(status, 400);
    assert!(body.contains("\"MissingParameter\""), "{body}");
    // Well signed, but an API the emulator does not have: 404.
    let path = signed_v1(
        &[
            ("Action", "NoSuchApi"),
            ("Version", "2018-01-20"),
            ("SignatureNonce", "n2"),
        ],
        &stamp,
    );
    let (status, body) = common::http::request(&at, "POST", &path, &[]);
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("\"InvalidApi.NotFound\""), "{body}");
    // Well signed, another version.
    let path = signed_v1(
        &[
            ("Action", "BatchGetDeviceState"),
            ("Version", "2017-04-20"),
            ("SignatureNonce", "n3"),
        ],
        &stamp,
    );
    let (status, body) = common::http::request(&at, "POST", &path, &[]);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("\"InvalidVersion\""), "{body}");
    // A V3 Authorization header without its parts.
    let (status, body) = common::http::request(
        &at,
        "POST",
        "/",
        &[("Authorization", "ACS3-HMAC-SHA256 Credential=x")],
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("\"IncompleteSignature\""), "{body}");
}

/// A V1-signed path for `params` (besides the common ones) at `stamp`.
fn signed_v1(params: &[(&str, &str)], stamp: &str) -> String {
    let mut pairs: Vec<(&str, &str)> = vec![
        ("AccessKeyId", AK_ID),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("Timestamp", stamp),
    ];
    pairs.extend(params);
    let signature = burnline_core::openapi::v1::sign(
        &burnline_core::secret::Secret::from(AK_SECRET),
        "POST",
        &pairs,
    );
    format!(
        "/?{}&Signature={}",
        burnline_core::registration::form::encode_pairs(&pairs),
        burnline_core::registration::form::encode(&signature)
    )
}

/// Devices created through the OpenAPI, their IotIds, a reset and a
/// deletion are kept in the state file: after a restart the devices still
/// log in, keep their IotId and may register once, and a deleted device of
/// the products file stays deleted.
#[test]
fn created_devices_survive_a_restart_with_their_iot_ids() {
    let t = Test::new();
    let products = products(t.path());
    let state = t.path().join("state.json");
    let extra = ["--openapi", "127.0.0.1:0", "--state", common::s(&state)];
    let emu = MqttEmulator::start(t.path(), &products, None, &extra);
    let at = emu.openapi.clone().expect("openapi");
    let csv = t.path().join("devices.csv");
    sdk(&t, "tea", &at, &["create", PK, "rs-", "2", common::s(&csv)])
        .stdout_contains("created 2 distinct 2")
        .run();
    let devices = created(&csv);
    let (mut conn, code) = login(&t, &emu, "rs-0001", &devices["rs-0001"].0);
    assert_eq!(code, 0);
    conn.write_all(&[0xE0, 0x00]).expect("DISCONNECT");
    emu.wait_online("rs-0001", false);
    sdk(&t, "tea", &at, &["reset", PK, "rs-0001"])
        .stdout("reset Success\n")
        .run();
    // A device of the products file, deleted, stays deleted.
    sdk(&t, "tea", &at, &["delete", PK, "console1"])
        .stdout("delete Success\n")
        .run();
    drop(emu);
    let emu = MqttEmulator::start(t.path(), &products, None, &extra);
    let at = emu.openapi.clone().expect("openapi");
    sdk(
        &t,
        "old",
        &at,
        &["states-id", &devices["rs-0001"].1, &devices["rs-0002"].1],
    )
    .stdout("rs-0001 OFFLINE last-online\nrs-0002 UNACTIVE never\n")
    .run();
    assert_eq!(login(&t, &emu, "rs-0002", &devices["rs-0002"].0).1, 0);
    t.burnline()
        .args(["register", PK, "rs-0001", PS, "--endpoint", &emu.url])
        .stdout_contains(format!("DeviceInfo: {PK} rs-0001 "))
        .run();
}

/// An AccessKey listed twice is refused, naming the field.
#[test]
fn access_keys_are_checked() {
    let t = Test::new();
    let p = t.path().join("products.yaml");
    write_private(
        &p,
        &format!("access_keys:\n  - {{id: a, secret: s1}}\n  - {{id: a, secret: s2}}\nproducts:\n  - product_key: {PK}\n    product_secret: {PS}\n"),
    );
    t.burnline()
        .args([
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--openapi",
            "127.0.0.1:0",
        ])
        .arg("--products")
        .arg(&p)
        .status(2)
        .stderr_contains("access_keys[1].id")
        .output_lacks("s2")
        .run();
}

/// `--openapi` without AccessKeys is a usage error, before anything binds.
#[test]
fn openapi_without_access_keys_is_refused() {
    let t = Test::new();
    let p = t.path().join("products.yaml");
    write_private(
        &p,
        &format!("products:\n  - product_key: {PK}\n    product_secret: {PS}\n"),
    );
    t.burnline()
        .args([
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--openapi",
            "127.0.0.1:0",
        ])
        .arg("--products")
        .arg(&p)
        .status(2)
        .stderr_contains("--openapi needs access_keys")
        .run();
}

/// Each device's `Status` as the SDK's `states` lines give it.
fn sdk_states(t: &Test, name: &str, at: &str, names: &[&str]) -> Vec<(String, String)> {
    let mut args = vec!["states", PK];
    args.extend(names);
    sdk(t, name, at, &args)
        .run()
        .stdout
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (f[0].to_owned(), f[1].to_owned())
        })
        .collect()
}

/// `burnline platform ARGS` against `at`, the AccessKey in the aliyun
/// CLI's profile file (mode 0600) under HOME = the test's directory, so
/// that no report shows it.
fn burnline_platform(t: &Test, at: &str, args: &[&str]) -> Test {
    let dir = t.path().join(".aliyun");
    std::fs::create_dir_all(&dir).expect("~/.aliyun");
    write_private(
        &dir.join("config.json"),
        &format!(
            r#"{{"current":"default","profiles":[{{"name":"default","mode":"AK","access_key_id":"{AK_ID}","access_key_secret":"{AK_SECRET}","region_id":"cn-shanghai"}}]}}"#
        ),
    );
    t.burnline()
        .env("HOME", t.path())
        .env_remove("ALIBABA_CLOUD_ACCESS_KEY_ID")
        .env_remove("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
        .arg("platform")
        .args(args)
        .args(["--endpoint", &format!("http://{at}")])
        .output_lacks(AK_SECRET)
}

/// Each device's `status` as `burnline platform state --json` gives it.
fn burnline_states(t: &Test, at: &str) -> Vec<(String, String)> {
    let o = burnline_platform(t, at, &["state", "--devices", "names.csv", "--json"])
        .any_status()
        .run();
    let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("json");
    v["devices"]
        .as_array()
        .expect("devices")
        .iter()
        .filter(|d| d["status"] != "MISSING")
        .map(|d| {
            let dn = d["device_name"].as_str().unwrap_or_default().to_owned();
            (dn, d["status"].as_str().expect("status").to_owned())
        })
        .collect()
}

/// The SDKs and burnline's own client see the same devices in the same
/// states, and each sees what the other changed.
#[test]
fn the_sdks_and_burnline_platform_agree() {
    let t = Test::new();
    let (emu, at) = start(&t);
    let csv = t.path().join("devices.csv");
    sdk(&t, "tea", &at, &["create", PK, "ag-", "5", common::s(&csv)])
        .stdout_contains("created 5 distinct 5")
        .run();
    let devices = created(&csv);
    let names: Vec<String> = (1..=5).map(|i| format!("ag-{i:04}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let t = t.file(
        "names.csv",
        format!(
            "DeviceName,ProductKey\n{}",
            names
                .iter()
                .map(|n| format!("{n},{PK}\n"))
                .collect::<String>()
        ),
    );
    let (_held, code) = login(&t, &emu, "ag-0001", &devices["ag-0001"].0);
    assert_eq!(code, 0);
    let (mut left, code) = login(&t, &emu, "ag-0002", &devices["ag-0002"].0);
    assert_eq!(code, 0);
    left.write_all(&[0xE0, 0x00]).expect("DISCONNECT");
    emu.wait_online("ag-0002", false);
    // Disabled in the console.
    let (status, body) = common::emulator::admin(
        &emu.url,
        "PUT",
        &format!("/admin/devices/{PK}/ag-0003/enabled"),
        Some(r#"{"enabled":false}"#),
        None,
    );
    assert_eq!(status, 200, "{body}");

    let expected: Vec<(String, String)> = [
        ("ag-0001", "ONLINE"),
        ("ag-0002", "OFFLINE"),
        ("ag-0003", "DISABLE"),
        ("ag-0004", "UNACTIVE"),
        ("ag-0005", "UNACTIVE"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    for name in ["tea", "tea-v2", "old"] {
        assert_eq!(sdk_states(&t, name, &at, &names), expected, "{name}");
    }
    assert_eq!(burnline_states(&t, &at), expected);

    // burnline deletes one, the old SDK another: both see both gone.
    burnline_platform(&t, &at, &["delete", PK, "ag-0005", "--yes"]).run();
    sdk(&t, "old", &at, &["delete", PK, "ag-0004"])
        .stdout("delete Success\n")
        .run();
    let expected = &expected[..3];
    assert_eq!(sdk_states(&t, "tea", &at, &names), expected);
    assert_eq!(burnline_states(&t, &at), expected);
    assert!(!emu.log_text().contains(AK_SECRET));
}
