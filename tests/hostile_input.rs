//! Inputs a careless or hostile user gives: CSVs whose rows and columns do
//! not match, device names that would overwrite burnline's own files, and
//! secrets where another field is expected. Each is refused with its file
//! and line, exit 2, nothing written, and no secret in any message.

mod common;

use common::{Test, DS1, DS2, PK};

/// A small GPT recipe whose outputs are named `pattern`.
fn recipe(pattern: &str) -> String {
    format!(
        "disk: {{size: 4MiB, table: gpt, seed: 0123456789abcdef0123456789abcdef}}\n\
         partitions:\n  - {{name: creds, size: 1MiB, credentials: {{}}}}\n  - {{name: data, size: fill}}\n\
         auth: {{mode: device-secret, product_key: {PK}}}\n\
         output: {{pattern: \"{pattern}\"}}\n"
    )
}

#[test]
fn a_row_with_more_fields_than_its_header_is_refused() {
    // The second field would otherwise be burned as the secret.
    Test::new()
        .file("r.yaml", recipe("{device_name}.img"))
        .file(
            "d.csv",
            format!("DeviceName,DeviceSecret\ngw-0001,{DS1}\ngw-0002,{DS2},extra\n"),
        )
        .args(["check", "r.yaml", "--devices", "d.csv"])
        .status(2)
        .stderr_contains("d.csv:3: the row has 3 fields, more than the 2 of the header row")
        .stderr_lacks(DS1)
        .stderr_lacks(DS2)
        .run();
}

#[test]
fn two_columns_of_one_name_are_refused() {
    for header in [
        "DeviceName,DeviceName,DeviceSecret",
        "DeviceName,DeviceSecret,device_secret",
    ] {
        Test::new()
            .file("r.yaml", recipe("{device_name}.img"))
            .file("d.csv", format!("{header}\ngw-0001,gw-0002,{DS1}\n"))
            .args(["check", "r.yaml", "--devices", "d.csv"])
            .status(2)
            .stderr_contains("d.csv:1: ")
            .stderr_contains(" columns; it may have one")
            .stderr_lacks(DS1)
            .run();
    }
}

#[test]
fn a_device_may_not_take_a_name_burnline_writes_itself() {
    let csv = format!(
        "DeviceName,DeviceSecret\ngw-0001,{DS1}\nregistrations.jsonl,{DS2}\nmanifest.json,{DS2}\nSHA256SUMS,{DS2}\nB3SUMS,{DS2}\nx.burnline-tmp,{DS2}\n"
    );
    let t = Test::new()
        .file("r.yaml", recipe("{device_name}"))
        .file("d.csv", &csv)
        .file("out/registrations.jsonl", "{\"kept\":true}\n");
    let mut check = t
        .cmd()
        .args(["check", "r.yaml", "--devices", "d.csv"])
        .status(2);
    for (line, name) in [
        (3, "registrations.jsonl"),
        (4, "manifest.json"),
        (5, "SHA256SUMS"),
        (6, "B3SUMS"),
    ] {
        check = check.stderr_contains(format!(
            "d.csv:{line}: DeviceName: output file `{name}` is a name burnline writes itself"
        ));
    }
    check
        .stderr_contains("d.csv:7: DeviceName: output file `x.burnline-tmp` ends like")
        .run();
    // A build refuses the same rows before writing anything: the ledger
    // that was there is untouched.
    t.cmd()
        .args(["build", "r.yaml", "--devices", "d.csv", "--out", "out"])
        .status(2)
        .run();
    assert_eq!(
        std::fs::read_to_string(t.path().join("out/registrations.jsonl")).expect("ledger"),
        "{\"kept\":true}\n"
    );
    // Base+delta output: `base` with the pattern `{device_name}.img` would
    // be the base image itself.
    Test::new()
        .file("r.yaml", recipe("{device_name}.img"))
        .file("d.csv", format!("DeviceName,DeviceSecret\nbase,{DS1}\n"))
        .args(["check", "r.yaml", "--devices", "d.csv"])
        .status(2)
        .stderr_contains("output file `base.img` is a name burnline writes itself")
        .run();
}

#[test]
fn no_message_quotes_a_secret_found_in_the_wrong_column() {
    // ProductKey and DeviceSecret swapped: the ProductKey column holds the
    // secrets, and the recipe's ProductKey differs from them.
    let swapped =
        format!("DeviceName,ProductKey,DeviceSecret\ngw-0001,{DS1},{PK}\ngw-0002,{DS2},{PK}\n");
    // DeviceName and DeviceSecret swapped, and a secret repeated: the
    // duplicate-name rule fires on a secret.
    let names = format!("DeviceSecret,DeviceName\ngw-0001,{DS1}\ngw-0002,{DS1}\n");
    for csv in [swapped, names] {
        for cmd in ["check", "build"] {
            Test::new()
                .file("r.yaml", recipe("{device_name}.img"))
                .file("d.csv", &csv)
                .args([cmd, "r.yaml", "--devices", "d.csv"])
                .status(2)
                .output_lacks(DS1)
                .output_lacks(DS2)
                .stderr_contains("d.csv:")
                .run();
        }
    }
}
