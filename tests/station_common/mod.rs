//! Shared fixtures for the integration tests: a small recipe (8 MiB GPT
//! disk, a 2 MiB FAT partition with a file, a 1 MiB credentials partition
//! and a fill partition), a device CSV, and helpers to run the binary and
//! the real tools (a missing tool fails the test).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The burnline binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_burnline");

/// Writes `recipe.yaml`, `hello.txt` and `devices.csv` (with `n` devices)
/// into `dir`; `output` is extra YAML for the `output:` section.
pub fn fixture(dir: &Path, n: usize, output: &str) -> (PathBuf, PathBuf) {
    std::fs::write(dir.join("hello.txt"), b"hello from the base image\n").expect("hello");
    let recipe = format!(
        "disk: {{size: 8MiB, table: gpt, seed: 0123456789abcdef0123456789abcdef}}\n\
         partitions:\n\
         \x20 - {{name: boot, size: 2MiB, type: esp, fat: {{files: [{{source: hello.txt, dest: /hello.txt}}]}}}}\n\
         \x20 - {{name: creds, size: 1MiB, credentials: {{}}}}\n\
         \x20 - {{name: data, size: fill}}\n\
         auth: {{mode: device-secret, product_key: a1X2bEnP82z}}\n{output}"
    );
    let rp = dir.join("recipe.yaml");
    std::fs::write(&rp, recipe).expect("recipe");
    let mut csv = String::from("DeviceName,DeviceSecret,ProductKey\n");
    for i in 1..=n {
        csv.push_str(&format!(
            "gw-{i:04},ga7XA6KdlEeiPXQPpRbAjOZXwG8yd{i:03},a1X2bEnP82z\n"
        ));
    }
    let cp = dir.join("devices.csv");
    std::fs::write(&cp, csv).expect("csv");
    (rp, cp)
}

/// Runs burnline with `args`.
pub fn burnline(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("running burnline")
}

/// Runs burnline and asserts success.
pub fn ok(args: &[&str]) -> Output {
    let o = burnline(args);
    assert!(
        o.status.success(),
        "burnline {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// Runs a real tool and asserts success; a missing tool fails the test.
pub fn tool(name: &str, args: &[&str], cwd: &Path) -> Output {
    let o = Command::new(name)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap_or_else(|e| panic!("the test tool `{name}` is required and could not be run: {e}"));
    assert!(
        o.status.success(),
        "{name} {args:?} failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// SHA-256 of a file, hex.
pub fn sha(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).expect("read")))
}

/// A path as &str.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Device file names for `n` devices.
pub fn names(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("gw-{i:04}.img")).collect()
}
