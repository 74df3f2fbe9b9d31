//! A small test builder over a temp dir, in the style of `just`'s tests:
//! `Test::new().file(..).args(..).status(0)`, plus helpers that run the real
//! tools the field trusts (fsck.fat, sgdisk, sfdisk, mtools, sha256sum, b3sum). A
//! missing tool fails the test loudly; nothing is skipped.

#![allow(dead_code)]

pub mod emulator;
pub mod mqtt;

use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A DeviceSecret from the domain notes' test vectors.
pub const DS1: &str = "ga7XA6KdlEeiPXQPpRbAjOZXwG8ydgSe";
/// A second DeviceSecret.
pub const DS2: &str = "Xq3LmN8pRt5VwYz2Ab4Cd6Ef8Gh0Ij1K";
/// The ProductSecret of the test vectors.
pub const PS: &str = "7jluWm1zql7bt8qK";
/// The ProductKey of the test vectors.
pub const PK: &str = "a1X2bEnP82z";

/// A temp dir with files, and a burnline command to run in it.
pub struct Test {
    pub dir: tempfile::TempDir,
    args: Vec<OsString>,
    env: Vec<(String, String)>,
}

/// What a run printed.
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Test {
    pub fn new() -> Self {
        Test {
            dir: tempfile::tempdir().expect("tempdir"),
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn file(self, name: &str, contents: impl AsRef<[u8]>) -> Self {
        let p = self.dir.path().join(name);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).expect("mkdir");
        }
        fs::write(p, contents).expect("write");
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args = args.into_iter().map(Into::into).collect();
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }

    /// Runs the command and checks its exit status.
    pub fn status(&self, code: i32) -> Outcome {
        let out = self.run();
        assert_eq!(
            out.code, code,
            "burnline {:?} exited {} (wanted {code})\nstdout:\n{}\nstderr:\n{}",
            self.args, out.code, out.stdout, out.stderr
        );
        out
    }

    pub fn success(&self) -> Outcome {
        self.status(0)
    }

    pub fn run(&self) -> Outcome {
        self.run_with(&self.args)
    }

    /// Runs burnline with other arguments in the same directory.
    pub fn run_with<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Outcome {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_burnline"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_remove("SOURCE_DATE_EPOCH");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run burnline");
        Outcome {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Runs a field tool; panics loudly if it is not installed.
/// The device-side `burnline-bootstrap` binary. It is its own workspace crate
/// (so that it cannot link image-building code), built next to `burnline` by
/// `cargo test --workspace` (which rebuilds it when it changed); a missing
/// binary fails loudly.
pub fn bootstrap_bin() -> PathBuf {
    let host = Path::new(env!("CARGO_BIN_EXE_burnline"));
    let boot = host.with_file_name("burnline-bootstrap");
    assert!(
        boot.is_file(),
        "{} is missing: run the tests with `cargo test --workspace` (scripts/test.sh does)",
        boot.display()
    );
    boot
}

pub fn tool(name: &str, args: &[&str]) -> Output {
    match Command::new(name).args(args).output() {
        Ok(o) => o,
        Err(e) => panic!(
            "the test tool `{name}` could not run ({e}); install the Debian packages dosfstools mtools gdisk fdisk b3sum (the README's test command does)"
        ),
    }
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Copies bytes `start..start+len` of `img` to a new file and returns it.
pub fn extract(img: &Path, start: u64, len: u64, to: &Path) -> PathBuf {
    let f = fs::File::open(img).expect("open image");
    let mut buf = vec![0u8; len as usize];
    f.read_exact_at(&mut buf, start).expect("read partition");
    fs::write(to, &buf).expect("write partition");
    to.to_path_buf()
}

/// Asserts `fsck.fat -n` finds nothing at all to say about a volume.
pub fn assert_fsck_clean(vol: &Path) {
    let o = tool("fsck.fat", &["-n", vol.to_str().expect("utf8")]);
    let t = text(&o);
    let lines: Vec<&str> = t.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(
        o.status.success() && lines.len() == 2,
        "fsck.fat -n complained about {}:\n{t}",
        vol.display()
    );
}

/// The partitions of a JSON `inspect`.
pub fn inspect_json(t: &Test, img: &str, reveal: bool) -> serde_json::Value {
    let mut args = vec!["inspect", img, "--json"];
    if reveal {
        args.push("--reveal-secrets");
    }
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_burnline"));
    let o = cmd
        .args(&args)
        .current_dir(t.path())
        .output()
        .expect("inspect");
    assert!(
        o.status.success(),
        "inspect failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("inspect json")
}

/// A recipe for tests: GPT or MBR, FAT boot partition with `fat_bits`, a
/// credentials partition and a fill partition.
pub fn recipe(table: &str, fat_bits: u8, boot_size: &str, disk: &str, auth: &str) -> String {
    let (boot_type, creds_type, data_type) = if table == "gpt" {
        ("basic-data", "linux", "linux")
    } else {
        (
            match fat_bits {
                12 => "fat12",
                32 => "fat32",
                _ => "fat16",
            },
            "0x83",
            "linux",
        )
    };
    let lines = [
        "disk:".to_owned(),
        format!("  size: {disk}"),
        format!("  table: {table}"),
        "  seed: 0123456789abcdef0123456789abcdef".to_owned(),
        "  source_date_epoch: 1700000000".to_owned(),
        "partitions:".to_owned(),
        "  - name: bootstrap".to_owned(),
        format!("    size: {boot_size}"),
        format!("    type: {boot_type}"),
        "    fat:".to_owned(),
        format!("      type: {fat_bits}"),
        "      label: BOOT".to_owned(),
        "      files:".to_owned(),
        "        - source: files".to_owned(),
        "          dest: /".to_owned(),
        "        - source: files/bin/prog".to_owned(),
        "          dest: /top.bin".to_owned(),
        "  - name: creds".to_owned(),
        "    size: 1MiB".to_owned(),
        format!("    type: {creds_type}"),
        "    credentials: {}".to_owned(),
        "  - name: data".to_owned(),
        "    size: fill".to_owned(),
        format!("    type: {data_type}"),
    ];
    format!("{}\n{auth}", lines.join("\n"))
}

pub fn device_secret_auth() -> String {
    format!("auth:\n  mode: device-secret\n  product_key: {PK}\n  region: cn-shanghai\n")
}

pub fn devices_csv() -> String {
    format!("DeviceName,DeviceSecret,ProductKey\ngw-0001,{DS1},{PK}\ngw-0002,{DS2},{PK}\nline@3.a:01,{DS1},{PK}\n")
}

/// A test with host files (a nested tree) and a device CSV.
pub fn with_files(t: Test) -> Test {
    let prog: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    t.file("files/bin/prog", prog)
        .file("files/etc/app/conf.txt", "key=value\n")
        .file("files/etc/app/deep/more/x.txt", "deep file\n")
        .file("files/README.TXT", "readme\n")
        .file("devices.csv", devices_csv())
}
