//! Device CSVs as offices make them: GBK from Chinese Excel (plain, and
//! encrypted with `age`) and `;`-separated files are read and built, and the
//! run says how it read them; a workbook, an empty file, a list whose
//! columns do not fit the recipe's mode are refused with one line, exit 2.
//! Every byte of the CSVs is written by the tests.

mod common;

use common::fixtures::fixture;
use common::images::inspect_json;
use common::*;
use std::os::unix::fs::PermissionsExt;

/// 网关 in GBK.
const GBK_GATEWAY: &[u8] = b"\xCD\xF8\xB9\xD8";

/// The fixture's recipe and a CSV of `bytes`, in a new test directory.
fn with_csv(bytes: &[u8]) -> Test {
    let t = Test::new();
    fixture(t.path(), 1, "");
    std::fs::write(t.path().join("devices.csv"), bytes).expect("csv");
    t
}

/// A 一机一密 list in GBK, as Chinese Excel saves it: CRLF, a Nickname of
/// Chinese characters (the column burnline ignores).
fn gbk_csv() -> Vec<u8> {
    let mut csv =
        format!("DeviceName,DeviceSecret,ProductKey,Nickname\r\ngw-0001,{DS1},{PK},").into_bytes();
    csv.extend_from_slice(GBK_GATEWAY);
    csv.extend_from_slice(format!("1\r\ngw-0002,{DS2},{PK},").as_bytes());
    csv.extend_from_slice(GBK_GATEWAY);
    csv.extend_from_slice(b"2\r\n");
    assert!(
        std::str::from_utf8(&csv).is_err(),
        "the CSV must not be UTF-8"
    );
    csv
}

fn build(t: &Test, devices: &str) -> Test {
    t.cmd()
        .args(["build", "recipe.yaml", "--devices", devices, "--out", "out"])
}

/// The credentials record of `out/NAME.img`, secrets shown.
fn record(t: &Test, name: &str) -> serde_json::Value {
    inspect_json(t, format!("out/{name}.img"), true)["credentials"].clone()
}

#[test]
fn a_gbk_csv_from_chinese_excel_is_read_and_the_run_names_the_encoding() {
    let t = with_csv(&gbk_csv());
    t.cmd()
        .args(["check", "recipe.yaml", "--devices", "devices.csv"])
        .stderr_contains("devices.csv: read as GB18030 (GBK")
        .run();
    build(&t, "devices.csv")
        .stderr_contains("read as GB18030")
        .output_lacks(DS1)
        .run();
    for (name, secret) in [("gw-0001", DS1), ("gw-0002", DS2)] {
        let c = record(&t, name);
        assert_eq!(c["device_name"], name);
        assert_eq!(c["device_secret"], secret);
        assert_eq!(c["product_key"], PK);
    }
}

#[test]
fn an_encrypted_gbk_csv_is_decoded_after_it_is_decrypted() {
    let t = with_csv(&gbk_csv());
    let id = t.path().join("id.txt");
    t.tool("age-keygen").args(["-o", s(&id)]).run();
    std::fs::set_permissions(&id, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let text = std::fs::read_to_string(&id).expect("identity");
    let recipient = text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .expect("public key line")
        .to_owned();
    t.tool("age")
        .args([
            "-e",
            "-r",
            &recipient,
            "-o",
            "devices.csv.age",
            "devices.csv",
        ])
        .current_dir(t.path())
        .run();
    build(&t, "devices.csv.age")
        .args(["--identity", s(&id)])
        .stderr_contains("devices.csv.age: read as GB18030")
        .run();
    assert_eq!(record(&t, "gw-0002")["device_secret"], DS2);
}

#[test]
fn a_utf8_csv_is_not_said_to_be_anything_else() {
    let csv =
        format!("\u{feff}DeviceName,DeviceSecret,ProductKey,Nickname\ngw-0001,{DS1},{PK},网关1\n");
    let t = with_csv(csv.as_bytes());
    build(&t, "devices.csv").stderr_lacks("read as").run();
    assert_eq!(record(&t, "gw-0001")["device_name"], "gw-0001");
}

#[test]
fn bytes_of_another_encoding_past_64_kib_of_utf8_are_refused_at_their_line() {
    // The encoding is told from the first 64 KiB after the first non-ASCII
    // byte; GBK bytes after them are refused where they are.
    let mut csv = String::from("DeviceName,DeviceSecret,ProductKey,Nickname\n");
    for i in 1..=1200 {
        csv.push_str(&format!("gw-{i:04},{DS1},{PK},网关{i}\n"));
    }
    assert!(csv.len() > 70_000);
    let mut csv = csv.into_bytes();
    csv.extend_from_slice(format!("gw-9999,{DS2},{PK},").as_bytes());
    csv.extend_from_slice(GBK_GATEWAY);
    csv.extend_from_slice(b"\n");
    let t = with_csv(&csv);
    t.cmd()
        .args(["check", "recipe.yaml", "--devices", "devices.csv"])
        .status(2)
        .error_line(
            "devices.csv:1202: bytes that are not UTF-8, though the file's start is; \
             save the whole list as CSV UTF-8",
        )
        .output_lacks(DS2)
        .run();
}

#[test]
fn a_semicolon_separated_csv_is_read_and_the_run_says_so() {
    let csv = format!("DeviceName;DeviceSecret;ProductKey\ngw-0001;{DS1};{PK}\n");
    let t = with_csv(csv.as_bytes());
    build(&t, "devices.csv")
        .stderr_contains("devices.csv: columns separated by `;`")
        .run();
    let c = record(&t, "gw-0001");
    assert_eq!(c["device_name"], "gw-0001");
    assert_eq!(c["device_secret"], DS1);
}

#[test]
fn an_excel_workbook_is_refused_with_save_it_as_csv_utf8() {
    let mut xlsx = b"PK\x03\x04\x14\x00\x06\x00\x08\x00".to_vec();
    xlsx.extend_from_slice(&[0x9c, 0xff, 0x00, 0x80, 0xfe]);
    xlsx.extend_from_slice(b"[Content_Types].xml");
    let t = with_csv(&xlsx);
    std::fs::rename(t.path().join("devices.csv"), t.path().join("devices.xlsx")).expect("mv");
    t.cmd()
        .args([
            "build",
            "recipe.yaml",
            "--devices",
            "devices.xlsx",
            "--out",
            "out",
        ])
        .status(2)
        .error_line(
            "devices.xlsx: an Excel workbook (.xlsx), not a CSV: save it as CSV UTF-8 \
             (Excel: File > Save As > \"CSV UTF-8 (Comma delimited)\")",
        )
        .absent("out")
        .run();
}

#[test]
fn an_empty_file_gets_its_own_message() {
    for bytes in [&b""[..], b"\xEF\xBB\xBF\r\n\r\n"] {
        let t = with_csv(bytes);
        t.cmd()
            .args(["check", "recipe.yaml", "--devices", "devices.csv"])
            .status(2)
            .error_line(
                "devices.csv: the device CSV is empty: no header row, no devices \
                 (export the list again)",
            )
            .run();
    }
}

#[test]
fn a_list_of_the_other_mode_is_refused_naming_both() {
    // 一机一密's certificate download under a 一型一密 recipe.
    let t =
        with_csv(format!("DeviceName,DeviceSecret,ProductKey\ngw-0001,{DS1},{PK}\n").as_bytes());
    let recipe = std::fs::read_to_string(t.path().join("recipe.yaml")).expect("recipe");
    let ps = recipe.replace(
        "auth: {mode: device-secret, product_key: a1X2bEnP82z}",
        "auth: {mode: product-secret, product_key: a1X2bEnP82z, product_secret: {env: TEST_PS}}",
    );
    assert_ne!(ps, recipe);
    std::fs::write(t.path().join("ps.yaml"), ps).expect("recipe");
    t.cmd()
        .args([
            "build",
            "ps.yaml",
            "--devices",
            "devices.csv",
            "--out",
            "out",
        ])
        .env("TEST_PS", PS)
        .status(2)
        .output_lacks(DS1)
        .error_line(
            "devices.csv:1: DeviceSecret: the recipe's auth.mode is product-secret (一型一密), \
             but the CSV gives DeviceSecrets (一机一密): use a device-secret recipe, or drop \
             the column",
        )
        .absent("out")
        .run();
    // The batch-create template under a 一机一密 recipe.
    std::fs::write(
        t.path().join("names.csv"),
        "DeviceName,Nickname\ngw-0001,a\n",
    )
    .expect("csv");
    t.cmd()
        .args([
            "build",
            "recipe.yaml",
            "--devices",
            "names.csv",
            "--out",
            "out",
        ])
        .status(2)
        .error_line(
            "names.csv:1: DeviceSecret: the recipe's auth.mode is device-secret (一机一密), \
             but the CSV has no DeviceSecret column (a 一型一密 list or the batch-create \
             template): use the console's certificate download, or a product-secret recipe",
        )
        .absent("out")
        .run();
}
