//! Signed outputs: `build --sign KEY` writes `SHA256SUMS.minisig` (or
//! `B3SUMS.minisig`) and `manifest.json.minisig`, which Debian's
//! `minisign -V` accepts, byte-identical from the same inputs;
//! `verify --pubkey` checks them before any hash; `manifest merge` re-signs
//! and, with `--require-signed`, refuses unsigned shards. Keys are made by
//! `minisign -G` (with `-W`, and with a password). Every bad key, password
//! or signature is a one-line error with exit 2.

mod common;

use common::fixtures::fixture;
use common::*;
use std::path::{Path, PathBuf};

/// A minisign key pair made by `minisign -G` in the test's directory:
/// (public key, secret key); `password` None makes it with -W.
fn keypair(t: &Test, name: &str, password: Option<&str>) -> (PathBuf, PathBuf) {
    let (p, k) = (
        t.path().join(format!("{name}.pub")),
        t.path().join(format!("{name}.key")),
    );
    let gen = t.tool("minisign").args(["-G", "-p", s(&p), "-s", s(&k)]);
    match password {
        None => gen.arg("-W").run(),
        Some(pw) => gen.stdin(format!("{pw}\n{pw}\n")).run(),
    };
    (p, k)
}

/// `minisign -V` of `file` with `public`, which must print its trusted
/// comment.
fn minisign_verifies(t: &Test, public: &Path, file: &Path) {
    let name = file.file_name().expect("name").to_string_lossy();
    t.tool("minisign")
        .args(["-V", "-p", s(public), "-m", s(file)])
        .stdout_contains("Signature and comment signature verified")
        .stdout_contains(format!("Trusted comment: file:{name}"))
        .run();
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn a_signed_build_verifies_with_minisign_and_is_reproducible() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 3, "");
    let (public, secret) = keypair(&t, "release", None);
    let build = |out: &str| {
        t.cmd()
            .args(["build", s(&r), "--devices", s(&c), "--out", out])
            .args(["--sign", s(&secret)])
    };
    build("a").run();
    let a = d.join("a");
    for f in ["SHA256SUMS", "manifest.json"] {
        minisign_verifies(&t, &public, &a.join(f));
    }
    t.tool("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(&a)
        .run();
    t.cmd()
        .args(["verify", "a", "--pubkey", s(&public)])
        .stderr_contains("are signed by")
        .stdout_contains("ok: 3 file(s) match")
        .run();
    // The same inputs, the same signatures, byte for byte.
    build("b").run();
    for f in ["SHA256SUMS.minisig", "manifest.json.minisig"] {
        assert_eq!(read(&a.join(f)), read(&d.join("b").join(f)), "{f}");
    }
    // BLAKE3 output: B3SUMS is what is signed; the SHA-256 list and its
    // signature of the earlier build are gone.
    build("a").args(["--digest", "blake3"]).run();
    minisign_verifies(&t, &public, &a.join("B3SUMS"));
    minisign_verifies(&t, &public, &a.join("manifest.json"));
    assert!(!a.join("SHA256SUMS.minisig").exists());
    t.cmd().args(["verify", "a", "--pubkey", s(&public)]).run();
    // A build without a key leaves no stale signature next to new files.
    t.cmd()
        .args(["build", s(&r), "--devices", s(&c), "--out", "a"])
        .absent("a/manifest.json.minisig")
        .absent("a/SHA256SUMS.minisig")
        .absent("a/B3SUMS.minisig")
        .run();
    t.cmd()
        .args(["verify", "a", "--pubkey", s(&public)])
        .status(2)
        .error_line("a/manifest.json.minisig: cannot read the signature")
        .run();
    // A crash once the manifest is in place, before the signatures: none is
    // left, and the same command run again finishes and signs.
    build("crash")
        .env("FAILPOINTS", "build-after-manifest=return")
        .signal(6)
        .absent("crash/manifest.json.minisig")
        .absent("crash/SHA256SUMS.minisig")
        .run();
    build("crash").run();
    minisign_verifies(&t, &public, &d.join("crash/SHA256SUMS"));
    t.cmd()
        .args(["verify", "crash", "--pubkey", s(&public)])
        .run();
    // A delta set: base.img and its bmap are in the signed list too.
    build("station").args(["--deltas", "--bmap"]).run();
    minisign_verifies(&t, &public, &d.join("station/SHA256SUMS"));
    t.cmd()
        .args(["verify", "station", "--pubkey", s(&public)])
        .stdout_contains("ok: 5 file(s) match")
        .run();
}

#[test]
fn a_password_protected_key_takes_its_password_from_the_environment_or_a_file() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 2, "");
    let (public, secret) = keypair(&t, "pw", Some("correct horse"));
    let build = |out: &str| {
        t.cmd()
            .args(["build", s(&r), "--devices", s(&c), "--out", out])
            .args(["--sign", s(&secret)])
            .env_remove("BURNLINE_SIGN_PASSWORD")
    };
    build("env")
        .env("BURNLINE_SIGN_PASSWORD", "correct horse")
        .run();
    minisign_verifies(&t, &public, &d.join("env/SHA256SUMS"));
    minisign_verifies(&t, &public, &d.join("env/manifest.json"));
    std::fs::write(d.join("pw.txt"), "correct horse\n").expect("password file");
    build("file")
        .args(["--sign-password-file", "pw.txt"])
        .env("BURNLINE_SIGN_PASSWORD", "wrong")
        .run();
    minisign_verifies(&t, &public, &d.join("file/manifest.json"));
    assert_eq!(
        read(&d.join("env/manifest.json.minisig")),
        read(&d.join("file/manifest.json.minisig"))
    );
    // No password, a wrong one: nothing is built.
    build("none")
        .status(2)
        .error_line("pw.key: --sign: the minisign secret key is password-protected")
        .stderr_lines(2)
        .absent("none")
        .run();
    build("wrong")
        .env("BURNLINE_SIGN_PASSWORD", "battery staple")
        .status(2)
        .error_line("pw.key: --sign: wrong password for the minisign secret key")
        .stderr_lines(2)
        .absent("wrong")
        .run();
    // The password is never a command-line argument.
    t.cmd()
        .args(["build", s(&r), "--devices", s(&c), "--sign-password", "x"])
        .status(2)
        .run();
}

#[test]
fn bad_keys_and_signatures_are_one_line_errors() {
    let t = Test::new();
    let d = t.path();
    let (r, c) = fixture(d, 2, "");
    let (public, secret) = keypair(&t, "k", None);
    let (other_public, _) = keypair(&t, "other", None);
    let build = t.cmd().args(["build", s(&r), "--devices", s(&c), "--out"]);
    // A corrupted key: one character of the secret half changed.
    let text = std::fs::read_to_string(&secret).expect("key");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut key_line: Vec<char> = lines[1].chars().collect();
    key_line[120] = if key_line[120] == 'A' { 'B' } else { 'A' };
    lines[1] = key_line.into_iter().collect();
    std::fs::write(d.join("bad.key"), lines.join("\n") + "\n").expect("bad key");
    build
        .clone()
        .args(["x", "--sign", "bad.key"])
        .status(2)
        .error_line("bad.key: --sign: the minisign secret key is corrupted")
        .stderr_lines(2)
        .absent("x")
        .run();
    std::fs::write(d.join("junk.key"), "not a key\n").expect("junk");
    build
        .clone()
        .args(["x", "--sign", "junk.key"])
        .status(2)
        .error_line("junk.key: --sign: not a minisign secret key")
        .absent("x")
        .run();
    build.clone().args(["out", "--sign", s(&secret)]).run();
    let verify = |key: &Path| t.cmd().args(["verify", "out", "--pubkey", s(key)]);
    verify(&other_public)
        .status(2)
        .error_line("out/manifest.json.minisig: signed by another key")
        .stderr_lines(2)
        .run();
    verify(&d.join("junk.key"))
        .status(2)
        .error_line("junk.key: --pubkey: not a minisign public key")
        .run();
    // A tampered checksum list: its signature no longer matches, and
    // minisign says so too.
    let sums = d.join("out/SHA256SUMS");
    let good = read(&sums);
    let mut bad = good.clone();
    bad[0] = if bad[0] == b'0' { b'1' } else { b'0' };
    std::fs::write(&sums, &bad).expect("tamper");
    verify(&public)
        .status(2)
        .error_line("out/SHA256SUMS.minisig: the signature does not match SHA256SUMS")
        .stderr_lines(2)
        .run();
    t.tool("minisign")
        .args(["-V", "-p", s(&public), "-m", s(&sums)])
        .fails()
        .run();
    std::fs::write(&sums, &good).expect("restore");
    // The signatures are checked before any hash: with a damaged image and
    // a damaged manifest signature, the signature is what is reported.
    let img = d.join("out/gw-0001.img");
    let mut image = std::fs::OpenOptions::new()
        .write(true)
        .open(&img)
        .expect("image");
    std::io::Write::write_all(&mut image, b"tampered").expect("tamper image");
    drop(image);
    verify(&public)
        .status(1)
        .error_line("gw-0001.img: sha256 differs")
        .run();
    let sig = d.join("out/manifest.json.minisig");
    let sig_text = std::fs::read_to_string(&sig).expect("sig");
    let swapped = std::fs::read_to_string(d.join("out/SHA256SUMS.minisig")).expect("sig");
    std::fs::write(&sig, &swapped).expect("swap");
    verify(&public)
        .status(2)
        .error_line("out/manifest.json.minisig: the signature does not match manifest.json")
        .stderr_lacks("differs")
        .run();
    std::fs::write(&sig, "untrusted comment: x\nnot base64\n").expect("garbage sig");
    verify(&public)
        .status(2)
        .error_line("out/manifest.json.minisig: not a minisign signature")
        .run();
    std::fs::write(&sig, sig_text).expect("restore");
}

/// The CI section of docs/outputs.md, command for command: signed shards, merged
/// and re-signed, checked with `minisign -V` and `sha256sum -c`.
#[test]
fn a_signed_sharded_release_merges_and_verifies() {
    let t = Test::new();
    let d = t.path();
    let (public, secret) = keypair(&t, "release", None);
    let root = repo_root();
    let recipe = root.join("recipes/example.yaml");
    let devices = root.join("examples/devices.csv");
    let shard = |k: &str, out: &str, sign: bool| {
        let b = t
            .cmd()
            .args(["build", s(&recipe), "--devices", s(&devices), "--out", out])
            .args(["--bmap", "--compress", "zstd", "--shard", k]);
        if sign {
            b.args(["--sign", s(&secret)])
        } else {
            b
        }
    };
    shard("1/2", "shard1", true).run();
    shard("2/2", "shard2", true).run();
    t.cmd()
        .args(["manifest", "merge", "shard1", "shard2", "--out", "release"])
        .args([
            "--pubkey",
            s(&public),
            "--require-signed",
            "--sign",
            s(&secret),
        ])
        .run();
    let release = d.join("release");
    minisign_verifies(&t, &public, &release.join("SHA256SUMS"));
    minisign_verifies(&t, &public, &release.join("manifest.json"));
    t.tool("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(&release)
        .run();
    t.cmd()
        .args(["verify", "release", "--pubkey", s(&public)])
        .run();
    // An unsigned shard is refused with --require-signed, taken without it.
    shard("2/2", "plain2", false).run();
    let merge = |dirs: &[&str], out: &str| {
        t.cmd()
            .args(["manifest", "merge"])
            .args(dirs)
            .args(["--out", out, "--pubkey", s(&public)])
    };
    merge(&["shard1", "plain2"], "r2")
        .arg("--require-signed")
        .status(2)
        .error_line("plain2/manifest.json.minisig: cannot read the signature")
        .absent("r2")
        .run();
    merge(&["shard1", "plain2"], "r3").run();
    assert!(
        !d.join("r3/manifest.json.minisig").exists(),
        "no key, no signature"
    );
    // A signed shard whose signature does not match is refused, required or not.
    let m = d.join("shard2/manifest.json");
    let mut text = std::fs::read_to_string(&m).expect("manifest");
    text = text.replacen("\"recipe\"", " \"recipe\"", 1);
    std::fs::write(&m, text).expect("tamper");
    merge(&["shard1", "shard2"], "r4")
        .status(2)
        .error_line("shard2/manifest.json.minisig: the signature does not match manifest.json")
        .absent("r4")
        .run();
    // --require-signed needs the key to check with.
    t.cmd()
        .args([
            "manifest",
            "merge",
            "shard1",
            "shard2",
            "--out",
            "r5",
            "--require-signed",
        ])
        .status(2)
        .run();
}
